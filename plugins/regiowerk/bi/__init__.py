"""Dashboards people open: Apache Superset over the suppressed ``bi`` views, defined as code.

- :mod:`regiowerk.bi.source`: what the BI tool connects to (a bi-only DuckDB extract, or PostgreSQL as
  ``regiowerk_bi_reader``), never a person-level table;
- :mod:`regiowerk.bi.bundle`: the committed dashboard definitions (``deploy/superset/dashboards/``, Superset's
  own export format) turned into an import bundle;
- :mod:`regiowerk.bi.server`: ``regiowerk bi up|down``, Superset in its own environment (``deploy/superset``);
- :mod:`regiowerk.bi.check`: ``regiowerk bi check``, every dashboard in headless Chromium.
"""
