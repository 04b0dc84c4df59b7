"""The gate: judges samples against thresholds and reports the run.

``thresholds`` (the grammar and verdicts) -> ``markers`` (what each marker asks
for, session gates) -> ``report`` (the run's results, xdist merge, terminal
summary) and the writers (``html_report``, ``baseline``,
``benchmark_export``). Nothing here knows CDP or imports
:mod:`pytest_cdp_accept.engine`; metric names, kinds and units come from
:mod:`pytest_cdp_accept.metrics`.
"""
