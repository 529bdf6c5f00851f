"""Machinery shared by the three emulators (CloudCruise, Qoder, r4).

* :mod:`.sqlite_store`: a pooled SQLite file shared by threads and processes (WAL, busy
  timeout, writes in ``BEGIN IMMEDIATE``);
* :mod:`.fault_middleware`: the WSGI wrapper that applies queued faults;
* :mod:`.flask_json`: JSON request bodies and responses;
* :mod:`.serving`: binding the socket and serving on a background thread (``Running…``);
* :mod:`.cli`: the ``python -m`` entry points' shared flags, errors and signal handling.
"""
