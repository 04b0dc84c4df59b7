"""The run: what one pytest process does between ``pytest_configure`` and the summary.

Each manager is a small class that takes plain values, so it can be tested
without pytest; :mod:`pytest_cdp_accept.plugin` wires them to hooks and fixtures.

* :mod:`.settings`: every option and ini key in one table, read back typed;
* :mod:`.pool`: the process's browser pool, and the app the browsers test;
* :mod:`.judging`: markers at collection, each test's thresholds, the session gates;
* :mod:`.outputs`: samples and JUnit properties, report files, baselines, the summary;
* :mod:`.progress`: the stability loops and the progress lines they print.

Like the plugin, these may import both stacks (``engine`` lazily: a suite that
never uses a browser never imports it).
"""
