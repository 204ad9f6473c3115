#!/usr/bin/env bash
# Benchmark linkdup against other duplicate finders on a generated tree.
#
#   scripts/bench.sh PRESET [RUNS]          PRESET: tiny, mixed, small (~1.4 GiB), large (~4 GiB)
#   scripts/bench.sh /path/to/tree [RUNS]   any existing directory (a path with a `/`), e.g. a
#                                           real source or photo tree: find mode only, read only
#   BENCH_MODE=link scripts/bench.sh PRESET (or: scripts/bench.sh --link PRESET)
#   BENCH_COLD=1 scripts/bench.sh PRESET    find mode with an empty page cache before every run
#
# find mode (default): each tool in report-only mode under hyperfine (1 warm-up + RUNS timed
#   runs, default 3), then one more run under /usr/bin/time for the peak RSS. Prints median
#   seconds, min-max, ratio to linkdup and peak RSS. Every tool prints its full report to stdout
#   (hyperfine sends it to /dev/null: it is still made and written), as a user runs it:
#   `linkdup` is the text report, `linkdup-json` / `fclones-json` / `dupe-krill-json` the JSON
#   ones; `linkdup-q` (`-q`, no report) is shown beside them and never counts in a ratio.
#   `linkdup-jsonl`, `linkdup-csv`, `linkdup-fdupes` (not in the default list) time the other
#   report formats, to compare with `linkdup-q`.
# link mode: for each tool, a fresh `cp -a` of the tree, one timed linking run, then the number
#   of distinct inodes left (fewer = more deduplicated; the count before and the ideal are shown).
#
# Steps: generate the tree with scripts/gen.py if missing, `cargo build --release`, install
# missing peers, refuse to time while a cargo/rustc build is running, run, print the table
# and the ratio linkdup / best peer (the figure the project's goals are stated in).
#
# Environment:
#   BENCH_ROOT=/tmp/linkdup-bench   trees (ROOT/PRESET) and results (ROOT/results/PRESET.MODE);
#                                   must be outside any git checkout (gen.py refuses otherwise)
#   BENCH_TOOLS="linkdup linkdup-json linkdup-q fclones fclones-json jdupes fdupes rdfind
#               dupe-krill dupe-krill-json hardlink"   subset / order (link mode: the names
#               without -json; linkdup-q is `link --yes -q`)
#   BENCH_INSTALL_CARGO=0           do not `cargo install --locked fclones dupe-krill` when missing
#                                   (installed by default; takes minutes the first time)
#   BENCH_COLD=1                    drop the page cache (needs root) before each timed find run;
#                                   no warm-up run then
#   FORCE=1                         time even while a build is running (numbers are then invalid)
# Missing apt peers (jdupes rdfind fdupes hyperfine time) are installed when run as root; any
# peer that is not installed is skipped with a note. Needs bash 5, python3 and GNU time.
set -euo pipefail
export LC_ALL=C.UTF-8

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit "${2:-2}"; }
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2; exit 2; }

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MODE=${BENCH_MODE:-find}
if [ "${1:-}" = --link ]; then MODE="link"; shift; fi
if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
PRESET=$1
RUNS=${2:-3}
REAL=
case $PRESET in
  tiny | mixed | small | large) ;;
  */*) [ -d "$PRESET" ] || die "no directory $PRESET"; REAL=1 ;;
  *) usage ;;
esac
[ -z "$REAL" ] || [ "$MODE" = find ] || die "a directory of your own is timed in find mode only (link mode would change it)"
case $MODE in find | link) ;; *) die "BENCH_MODE must be 'find' or 'link', not '$MODE'" ;; esac
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, not '$RUNS'"
ROOT=${BENCH_ROOT:-/tmp/linkdup-bench}
DIR=$ROOT/$PRESET
OUT=$ROOT/results/$PRESET.$MODE
WORK=$ROOT/work/$PRESET          # link mode: the fresh copy each tool links
if [ -n "$REAL" ]; then
  DIR=$(cd "$PRESET" && pwd)
  OUT=$ROOT/results/real-$(basename "$DIR").$MODE
fi
read -ra TOOLS <<<"${BENCH_TOOLS:-linkdup linkdup-json linkdup-q fclones fclones-json jdupes fdupes rdfind dupe-krill dupe-krill-json hardlink}"
LINKDUP=${CARGO_TARGET_DIR:-$REPO/target}/release/linkdup
export PATH="$HOME/.cargo/bin:$PATH"

# ------------------------------------------------------------------ tree
if [ -z "$REAL" ] && [ ! -f "$DIR.meta.json" ]; then
  [ -e "$DIR" ] && die "$DIR exists but has no $DIR.meta.json (interrupted generation?); remove it and rerun"
  mkdir -p "$ROOT"
  log "generating the '$PRESET' tree in $DIR (seeded, same content every time)"
  python3 "$REPO/scripts/gen.py" "$PRESET" --root "$ROOT"
fi

# ------------------------------------------------------------------ linkdup
log "building linkdup: cargo build --release"
cargo build --release --manifest-path "$REPO/Cargo.toml"
[ -x "$LINKDUP" ] || die "no binary at $LINKDUP after the build"

# ------------------------------------------------------------------ peers
missing=()
for p in jdupes rdfind fdupes hyperfine; do command -v "$p" >/dev/null || missing+=("$p"); done
[ -x /usr/bin/time ] || missing+=(time)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    log "installing ${missing[*]} (apt)"
    apt-get install -y "${missing[@]}" || { apt-get update && apt-get install -y "${missing[@]}"; }
  else
    log "not root: not installing ${missing[*]} (those peers will be skipped)"
  fi
fi
if [ "${BENCH_INSTALL_CARGO:-1}" = 1 ] && command -v cargo >/dev/null; then
  for c in fclones dupe-krill; do
    command -v "$c" >/dev/null || { log "cargo install --locked $c"; cargo install --locked "$c"; }
  done
fi
[ -x /usr/bin/time ] || die "GNU time is required: apt-get install time"
[ "$MODE" = link ] || command -v hyperfine >/dev/null || die "hyperfine is required: apt-get install hyperfine"

# ------------------------------------------------------------------ no timing during a build
building() {
  local p
  for p in cargo rustc cc1 cc1plus ld ld.bfd ld.gold ld.lld mold; do
    pgrep -x "$p" >/dev/null && return 0
  done
  return 1
}
if [ -z "${FORCE:-}" ] && building; then
  die "a build (cargo/rustc/cc/ld) is running: timings would be invalid; wait, or set FORCE=1" 3
fi

# ------------------------------------------------------------------ tools
# tool_cmd TOOL TREE: sets CMD (report-only in find mode, linking in link mode); 1 = no such mode
# shellcheck disable=SC2016  # the fclones pipeline's $1 is expanded by the inner bash
tool_cmd() {
  local d=$2
  case $MODE/$1 in
    find/linkdup)    CMD=("$LINKDUP" scan --progress never "$d") ;;
    find/linkdup-json) CMD=("$LINKDUP" scan --progress never -f json "$d") ;;
    find/linkdup-jsonl) CMD=("$LINKDUP" scan --progress never -f jsonl "$d") ;;
    find/linkdup-csv) CMD=("$LINKDUP" scan --progress never -f csv "$d") ;;
    find/linkdup-fdupes) CMD=("$LINKDUP" scan --progress never -f fdupes "$d") ;;
    find/linkdup-q)  CMD=("$LINKDUP" scan -q "$d") ;;
    find/fclones)    CMD=(fclones group --hidden --no-ignore -t hdd:8 "$d") ;;
    find/fclones-json) CMD=(fclones group --hidden --no-ignore -t hdd:8 -f json "$d") ;;
    find/dupe-krill-json) CMD=(dupe-krill -d -s --json "$d") ;;
    find/jdupes)     CMD=(jdupes -r -q -S "$d") ;;
    find/fdupes)     CMD=(fdupes -r -q -n -S "$d") ;;
    find/rdfind)     CMD=(rdfind -dryrun true -outputname "$OUT/rdfind-results.txt" "$d") ;;
    find/dupe-krill) CMD=(dupe-krill -d -s "$d") ;;
    find/hardlink)   CMD=(hardlink -n -c "$d") ;;
    link/linkdup)    CMD=("$LINKDUP" link --yes --progress never "$d") ;;
    link/linkdup-q)  CMD=("$LINKDUP" link --yes -q "$d") ;;
    link/fclones)    CMD=(bash -c 'fclones group --hidden --no-ignore -t hdd:8 "$1" | fclones link' _ "$d") ;;
    link/jdupes)     CMD=(jdupes -L -r -q "$d") ;;
    link/rdfind)     CMD=(rdfind -makehardlinks true -outputname "$OUT/rdfind-results.txt" "$d") ;;
    link/dupe-krill) CMD=(dupe-krill -s "$d") ;;
    link/hardlink)   CMD=(hardlink -c "$d") ;;
    *) return 1 ;;   # e.g. fdupes cannot hard-link
  esac
}
have() { case $1 in linkdup*) [ -x "$LINKDUP" ] ;; *) command -v "${1%-json}" >/dev/null ;; esac; }
peak_rss() { /usr/bin/time -f %M -o "$OUT/$1.rss" "${CMD[@]}" >/dev/null 2>"$OUT/$1.stderr"; }

if [ "${BENCH_COLD:-}" = 1 ]; then
  [ "$(id -u)" -eq 0 ] || die "BENCH_COLD=1 needs root (to write /proc/sys/vm/drop_caches)"
  HF_CACHE=(--prepare 'sync; echo 3 > /proc/sys/vm/drop_caches')
  OUT=$OUT.cold
else
  HF_CACHE=(--warmup 1)
fi
rm -rf "$OUT"
mkdir -p "$OUT"
log "mode=$MODE preset=$PRESET tree=$DIR ($(du -sh --apparent-size "$DIR" | cut -f1)) results=$OUT"
sync   # no writeback of the generated tree during the timings

for t in "${TOOLS[@]}"; do
  tool_cmd "$t" "$DIR" || { log "skip $t (no $MODE mode)"; continue; }
  have "$t" || { log "skip $t (not installed)"; continue; }
  if [ "$MODE" = find ]; then
    log "$t: ${CMD[*]}"
    hyperfine --shell bash "${HF_CACHE[@]}" --runs "$RUNS" --command-name "$t" \
      --export-json "$OUT/$t.json" "$(printf '%q ' "${CMD[@]}")" ||
      { log "$t failed (see above); left out of the table"; rm -f "$OUT/$t.json"; continue; }
    peak_rss "$t" || log "$t: the RSS run exited non-zero (see $OUT/$t.stderr)"
  else
    tool_cmd "$t" "$WORK"
    rm -rf "$WORK"
    mkdir -p "$(dirname "$WORK")"
    log "$t: fresh copy of the tree, then: ${CMD[*]}"
    cp -a "$DIR" "$WORK"
    sync
    rc=0
    t0=$EPOCHREALTIME
    peak_rss "$t" || rc=$?
    t1=$EPOCHREALTIME
    [ "$rc" -eq 0 ] || log "$t exited with $rc (see $OUT/$t.stderr)"
    inodes=$(find "$WORK" -type f -printf '%i\n' | sort -u | wc -l)
    printf '%s %s %s %s\n' "$t0" "$t1" "$inodes" "$rc" >"$OUT/$t.link"
    rm -rf "$WORK"
  fi
done

# ------------------------------------------------------------------ table
# inodes in the tree before linking, and the ideal after (one per distinct non-empty content;
# empty files stay separate)
before=? ideal=?
[ -n "$REAL" ] || read -r before ideal < <(awk -F'\t' '!/^#/ { ino[$3]; if ($2 == 0) e[$3]; else s[$5] }
  END { for (k in ino) n++; for (k in e) m++; for (k in s) m++; print n, m }' "$DIR.truth.tsv")
python3 - "$OUT" "$MODE" "$before" "$ideal" "${TOOLS[@]}" <<'EOF' | tee "$OUT/table.txt"
import json, os, sys
out, mode, before, ideal, tools = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
rows = []
for t in tools:
    p = os.path.join(out, t)
    if mode == "find" and os.path.exists(p + ".json"):
        r = json.load(open(p + ".json"))["results"][0]
        secs, extra = r["median"], "%.3f-%.3f" % (min(r["times"]), max(r["times"]))
    elif mode == "link" and os.path.exists(p + ".link"):
        t0, t1, inodes, rc = open(p + ".link").read().split()
        secs, extra = float(t1) - float(t0), inodes + ("" if rc == "0" else " (exit %s)" % rc)
    else:
        continue
    try:
        rss = "%.1f" % (int(open(p + ".rss").read().split()[-1]) / 1024)
    except (OSError, ValueError, IndexError):
        rss = "?"
    rows.append((t, secs, extra, rss))
base = dict((r[0], r[1]) for r in rows).get("linkdup")
head = ("median_s", "min-max_s") if mode == "find" else ("seconds", "inodes_after")
print("%-12s %10s %14s %10s %13s" % ("tool", head[0], head[1], "x_linkdup", "peak_RSS_MiB"))
for t, secs, extra, rss in rows:
    ratio = "%.2f" % (secs / base) if base else "-"
    print("%-12s %10.3f %14s %10s %13s" % (t, secs, extra, ratio, rss))
# Each tool with its report on stdout, as a user runs it; `-q` rows (no report) are beside them,
# never in the ratio.
secs_of = dict((r[0], r[1]) for r in rows)
peers = [(secs, t) for t, secs, _, _ in rows if not t.startswith("linkdup")]
if peers:
    best = min(peers)
    for mine in ("linkdup", "linkdup-json"):
        if mine in secs_of:
            print("%s / best peer (%s): %.2f" % (mine, best[1], secs_of[mine] / best[0]))
if mode == "link":
    print("inodes before linking: %s; ideal after: %s" % (before, ideal))
EOF
log "raw hyperfine JSON / RSS / stderr: $OUT"
