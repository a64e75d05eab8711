"""One small app per contender, each importable by uvicorn or gunicorn (see ``benchmarks/run.py``)."""
