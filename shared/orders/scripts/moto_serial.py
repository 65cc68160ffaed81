#!/usr/bin/env python3
"""moto's DynamoDB API server, answering one request at a time.

`moto_server` always runs threaded, and moto's DynamoDB backend takes no lock: concurrent
TransactWriteItems snapshot and restore whole tables, so one request can roll back another's committed
write, and conditional writes race. Real DynamoDB serializes writes per item. Handling requests one at a
time restores that guarantee, which the orders conformance suite's concurrency tests rely on.

Usage: python3 moto_serial.py [-H 127.0.0.1] [-p 5005]   (needs `pip install 'moto[server]'`)
"""
import argparse
import os

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5005)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, app, threaded=False, processes=1)


if __name__ == "__main__":
    main()
