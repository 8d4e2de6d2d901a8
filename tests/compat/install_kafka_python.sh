#!/usr/bin/env bash
# Installs kafka-python (a Kafka client the team did not write) into a cached
# virtualenv for the compatibility tests; does nothing when it is already there.
# Prints the virtualenv's python on stdout.
set -euo pipefail
KAFKA_PYTHON_VERSION=2.3.3
CACHE="${IOT_CACHE_DIR:-$HOME/.cache/iot-pipeline}"
VENV="$CACHE/py-kafka"
PY="$VENV/bin/python"
if ! "$PY" -c "import kafka, sys; sys.exit(kafka.__version__ != '$KAFKA_PYTHON_VERSION')" 2>/dev/null; then
  echo "installing kafka-python $KAFKA_PYTHON_VERSION into $VENV" >&2
  command -v python3 >/dev/null || { echo "python3 is required for the compatibility tests" >&2; exit 1; }
  python3 -m venv "$VENV" >&2
  "$PY" -m pip install --quiet --disable-pip-version-check "kafka-python==$KAFKA_PYTHON_VERSION" >&2
fi
echo "$PY"
