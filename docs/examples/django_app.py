"""A minimal Django project in one file (WSGI), served behind the job layer:

    eventjobs serve --app django_app:application --app-isolation process

``/hello/`` answers at once (with the id of the process that ran it);
``/sleep/`` blocks in ``time.sleep`` (30 seconds unless ``?seconds=``),
which only killing its process can stop: under ``--app-isolation process`` a
cancel of that job stores 410 at once and a fresh process takes the place of
the killed one (docs/embedding.md). A real project passes its own
``myproject.wsgi:application`` instead.
"""

import os
import time

from django.conf import settings

if not settings.configured:  # the module may be imported again in one process
    settings.configure(
        DEBUG=False,
        SECRET_KEY="example only: set a real one from the environment",
        ALLOWED_HOSTS=["localhost", "127.0.0.1", "[::1]"],
        ROOT_URLCONF=__name__,
        # No database, sessions or templates: the views below need none.
        INSTALLED_APPS=[],
        MIDDLEWARE=[],
        DATABASES={},
    )

from django.core.wsgi import get_wsgi_application  # after settings.configure
from django.http import HttpRequest, JsonResponse
from django.urls import path


def hello(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {
            "hello": request.GET.get("name", "world"),
            "pid": os.getpid(),
            "job": request.META.get("eventjobs.job_id"),
        }
    )


def sleep(request: HttpRequest) -> JsonResponse:
    # Blocking work with no checkpoint: only killing the process stops it.
    seconds = float(request.GET.get("seconds", "30"))
    time.sleep(seconds)
    return JsonResponse({"slept": seconds})


urlpatterns = [path("hello/", hello), path("sleep/", sleep)]

application = get_wsgi_application()
