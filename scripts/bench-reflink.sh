#!/usr/bin/env bash
# Time the tools that share extents (reflink) on the same tree, on an XFS (reflink=1) and a
# btrfs image made here, and measure what each frees.
#
#   sudo scripts/bench-reflink.sh [PRESET] [RUNS]     PRESET: tiny, mixed (default), small, large
#                                                     (scripts/gen.py), or pairs: 32 files of
#                                                     8 MiB and a copy of each (512 MiB)
#
# For each filesystem and tool: RUNS times (default 3) a fresh copy of the tree on the image
# (cp --reflink=never, so nothing is shared yet), `sync`, then one timed run of the tool, `sync`,
# and the free space (statvfs, as df shows it) before and after. Prints the median wall time,
# the bytes freed and the number of files left sharing extents.
#
#   linkdup   linkdup link --method reflink --yes -q TREE
#   fclones   fclones group TREE | fclones dedupe        (the default dedupe: FIDEDUPERANGE)
#   jdupes    jdupes -r -B -q TREE                        (-B: FIDEDUPERANGE)
#   hardlink  hardlink --reflink=always -p -o -t -q TREE  (util-linux; FICLONE + rename; -p -o -t:
#             ignore mode, owner and mtime, which a shared extent leaves to each file anyway)
#
# Needs root (loop devices), xfsprogs, btrfs-progs, python3; installs jdupes with apt and
# fclones with `cargo install --locked fclones` when missing. Refuses to time while a cargo or
# rustc build runs (FORCE=1 to time anyway; the numbers are then invalid).
# Environment: BENCH_ROOT=/tmp/linkdup-bench (trees and images; outside any git checkout),
# BENCH_TOOLS="linkdup fclones jdupes hardlink".
set -euo pipefail
export LC_ALL=C.UTF-8
log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 2; }

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PRESET=${1:-mixed}
RUNS=${2:-3}
ROOT=${BENCH_ROOT:-/tmp/linkdup-bench}
read -ra TOOLS <<<"${BENCH_TOOLS:-linkdup fclones jdupes hardlink}"
LINKDUP=${CARGO_TARGET_DIR:-$REPO/target}/release/linkdup
export PATH="$HOME/.cargo/bin:$PATH"
[ "$(id -u)" = 0 ] || die "needs root (loop devices, mounts)"

if [ "$PRESET" = pairs ] && [ ! -d "$ROOT/pairs" ]; then
  mkdir -p "$ROOT/pairs/a" "$ROOT/pairs/b"
  for i in $(seq -w 1 32); do
    head -c 8M /dev/urandom >"$ROOT/pairs/a/$i.bin"
    cp --reflink=never "$ROOT/pairs/a/$i.bin" "$ROOT/pairs/b/$i.bin"
  done
elif [ "$PRESET" != pairs ] && [ ! -f "$ROOT/$PRESET.meta.json" ]; then
  mkdir -p "$ROOT"
  python3 "$REPO/scripts/gen.py" "$PRESET" --root "$ROOT"
fi
command -v jdupes >/dev/null || apt-get install -y -qq jdupes >/dev/null
command -v fclones >/dev/null || cargo install --locked fclones
(cd "$REPO" && flock /tmp/cargo.lock cargo build --release --locked --quiet)
if [ "${FORCE:-0}" != 1 ] && { pgrep -x cargo >/dev/null || pgrep -x rustc >/dev/null; }; then
  die "a cargo or rustc build is running: timings would be invalid (FORCE=1 to go on)"
fi

tree_bytes=$(du -sb --apparent-size "$ROOT/$PRESET" | cut -f1)
img_size=$(( tree_bytes * 3 + (400 << 20) ))
MNT=$ROOT/mnt
mkdir -p "$MNT"
cleanup() { umount "$MNT" 2>/dev/null || true; rm -f "$ROOT/bench.img"; }
trap cleanup EXIT

run_tool() {
  local tool=$1 dir=$2
  case $tool in
    linkdup) "$LINKDUP" link --method reflink --yes -q "$dir" >/dev/null ;;
    fclones) fclones group "$dir" 2>/dev/null | fclones dedupe >/dev/null 2>&1 ;;
    jdupes) jdupes -r -B -q "$dir" >/dev/null 2>&1 ;;
    hardlink) hardlink --reflink=always -p -o -t -q "$dir" >/dev/null 2>&1 ;;
  esac
}

free_bytes() { sync -f "$MNT"; stat -f -c '%a %S' "$MNT" | awk '{ print $1 * $2 }'; }

printf '%-6s %-9s %10s %12s %8s\n' fs tool median_s freed_MiB shared
for fs in xfs btrfs; do
  truncate -s 0 "$ROOT/bench.img"
  truncate -s "$img_size" "$ROOT/bench.img"
  case $fs in
    xfs) mkfs.xfs -q -f -m reflink=1 "$ROOT/bench.img" ;;
    btrfs) mkfs.btrfs -q -f "$ROOT/bench.img" ;;
  esac
  mount -o loop "$ROOT/bench.img" "$MNT"
  declare -A times=() freed=() shared=()
  # Round-robin: every tool once per round, so a change of load hits all of them alike.
  for _ in $(seq "$RUNS"); do
    for tool in "${TOOLS[@]}"; do
      rm -rf "$MNT/tree"
      cp -a --reflink=never "$ROOT/$PRESET" "$MNT/tree"
      before=$(free_bytes)
      start=$(date +%s.%N)
      run_tool "$tool" "$MNT/tree" || log "$fs: $tool exited $?"
      end=$(date +%s.%N)
      after=$(free_bytes)
      times[$tool]+="$(echo "$end - $start" | bc) "
      freed[$tool]=$(echo "($after - $before) / 1048576" | bc -l)
      n=0
      while IFS= read -r -d '' f; do
        if filefrag -v "$f" 2>/dev/null | grep -q 'shared'; then n=$((n + 1)); fi
      done < <(find "$MNT/tree" -type f -size +0 -print0)
      shared[$tool]=$n
    done
  done
  for tool in "${TOOLS[@]}"; do
    # shellcheck disable=SC2086
    median=$(printf '%s\n' ${times[$tool]} | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
    printf '%-6s %-9s %10.2f %12.1f %8s\n' "$fs" "$tool" "$median" "${freed[$tool]}" "${shared[$tool]}"
  done
  unset times freed shared
  umount "$MNT"
done
