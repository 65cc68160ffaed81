#!/usr/bin/env bash
# Starts moto's server on a free loopback port and prints its URL; `stop` ends it.
#   url=$(tests/scripts/moto.sh start DIR)   ...   tests/scripts/moto.sh stop DIR
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
action="${1:?start|stop}"
dir="${2:?state directory}"
mkdir -p "$dir"
case "$action" in
  start)
    bin="$("$here/tools.sh")"
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    # One request at a time: moto's threaded server lets concurrent transactions undo each other
    # (see shared/orders/scripts/moto_serial.py); real DynamoDB serializes writes per item.
    "$bin/python" "$here/../../shared/orders/scripts/moto_serial.py" -H 127.0.0.1 -p "$port" \
      >"$dir/moto.log" 2>&1 &
    echo $! >"$dir/moto.pid"
    for _ in $(seq 1 100); do
      if python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
        "http://127.0.0.1:$port/moto-api/" 2>/dev/null; then
        echo "http://127.0.0.1:$port"
        exit 0
      fi
      sleep 0.1
    done
    echo "moto did not start; see $dir/moto.log" >&2
    exit 1
    ;;
  stop)
    if [ -f "$dir/moto.pid" ]; then
      kill "$(cat "$dir/moto.pid")" 2>/dev/null || true
      rm -f "$dir/moto.pid"
    fi
    ;;
esac
