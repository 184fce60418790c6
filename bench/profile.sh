#!/usr/bin/env bash
# Profiles the stateless_csas benchmark's stream threads with perf (dwarf call graphs) and
# prints an inclusive/self breakdown of the hot path.
# Usage: bench/profile.sh [records]   (default 3,000,000; needs `perf`: apt-get install linux-perf)
set -euo pipefail
cd "$(dirname "$0")/.."
records="${1:-3000000}"
out="${PROFILE_OUT:-/tmp/runnel-bench-profile}"
mkdir -p "$out"
bin=$(cargo bench --bench stateless_csas --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m["target"]["name"]=="stateless_csas" and m.get("executable"): print(m["executable"])' | tail -1)
RUNNEL_BENCH_RECORDS="$records" perf record -F 999 --call-graph dwarf,16384 -o "$out/perf.data" "$bin" 2>&1 | grep -E "RESULT|GENERATED"
# Worker threads are named <query id>-StreamThread-N; the kernel keeps the first 15 bytes.
perf script -i "$out/perf.data" --comm CSAS_SHORT_VIEW -F comm,tid,ip,sym 2>/dev/null > "$out/stream-threads.txt"
python3 bench/perf_breakdown.py "$out/stream-threads.txt" \
  "LogConsumer>::poll" "Partition::fetch" "frame::decode" "Task::process" "SourceSpec::decode" \
  "json_decode::decode_record" "find_from" "kafka::decode_record" "Project as" "Filter as" \
  "row_wise" "TopicSink as" "SinkSpec::encode" "json_encode" "Log>::append" \
  "drop_in_place<runnel::log::Record>" "run_utf8_validation" "malloc" "free" "realloc" "memcpy"
