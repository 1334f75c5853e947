"""`Server-Timing` for the benchmark: the time spent in Django, and in SQL with the number of queries."""

import re
from time import perf_counter

from django.db import connection

# What bench/run.py reads back: ms in Django, ms in SQL, and the number of queries.
HEADER = re.compile(r'app;dur=([\d.]+), db;dur=([\d.]+);desc="(\d+) queries"')


class ServerTiming:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        durations = []

        def timed(execute, sql, params, many, context):
            start = perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                durations.append(perf_counter() - start)

        start = perf_counter()
        with connection.execute_wrapper(timed):
            response = self.get_response(request)
        app = perf_counter() - start
        response["Server-Timing"] = (
            f'app;dur={app * 1000:.3f}, db;dur={sum(durations) * 1000:.3f};desc="{len(durations)} queries"'
        )
        return response
