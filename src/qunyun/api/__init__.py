"""The REST API (django-ninja): the same figures as the console and ``qunyun report``, under ``/api/``.

OpenAPI description at ``/api/openapi.json``, interactive docs at ``/api/docs``. Every call needs
an operator: a console session, or an API token (``Authorization: Bearer qy_…``) made with
``qunyun api-token create USERNAME``. Access to a community is the console's (per-community roles).
"""
