"""Console views (placeholder until the console shell lands)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


@login_required
def home(request):
    return HttpResponse("qunyun")


@login_required
def community_detail(request, slug):
    return HttpResponse(slug)


@login_required
def community_members(request, slug):
    return HttpResponse(slug)
