"""Server-side pagination that counts once and slices in SQL (OFFSET/LIMIT)."""

from __future__ import annotations

from dataclasses import dataclass

PER_PAGE_CHOICES = (25, 50, 100, 200)  # offered in the page; any 1…MAX_PER_PAGE is accepted
MAX_PER_PAGE = 500


@dataclass(frozen=True)
class PageInfo:
    number: int
    per_page: int
    total: int

    @property
    def num_pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.per_page

    @property
    def start_index(self) -> int:
        return self.offset + 1 if self.total else 0

    @property
    def end_index(self) -> int:
        return min(self.offset + self.per_page, self.total)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.num_pages

    @property
    def previous_number(self) -> int:
        return self.number - 1

    @property
    def next_number(self) -> int:
        return self.number + 1

    def window(self, around: int = 2) -> list[int | None]:
        """Page numbers to show: first, last and ``around`` either side; ``None`` is a gap."""
        last = self.num_pages
        wanted = {1, last, *range(self.number - around, self.number + around + 1)}
        pages = sorted(p for p in wanted if 1 <= p <= last)
        out: list[int | None] = []
        for p in pages:
            if out and p - out[-1] > 1:
                out.append(None)
            out.append(p)
        return out


def page_info(request, total: int, *, default_per_page: int = 50) -> PageInfo:
    """The requested page (``?page=``, ``?per_page=``), clamped to what exists."""
    try:
        per_page = int(request.GET.get("per_page", default_per_page))
    except ValueError:
        per_page = default_per_page
    per_page = min(max(1, per_page), MAX_PER_PAGE)
    try:
        number = int(request.GET.get("page", 1))
    except ValueError:
        number = 1
    info = PageInfo(number=1, per_page=per_page, total=total)
    return PageInfo(number=min(max(1, number), info.num_pages), per_page=per_page, total=total)
