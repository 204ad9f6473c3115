#!/usr/bin/env python3
# Vendored from the shared duplicate-finder benchmark harness (bench/gen.py), unchanged
# below this comment, so that scripts/bench.sh does not depend on that harness at run
# time. Keep it in sync by copying the harness version over it (and re-adding this note).
"""Deterministic dataset generator for duplicate-file-finder benchmarks.

stdlib only.  Usage:

    gen.py PRESET [--root /tmp/bench-data] [--seed 42] [--force]

creates   ROOT/PRESET/               the tree to scan
          ROOT/PRESET.truth.tsv      ground truth: relpath, size, ino, nlink, sha1
          ROOT/PRESET.meta.json      parameters, counts, truth summary

Presets:
  tiny   ~2,000 small files (0-64 KiB), a few MiB; all small-file edge cases
  mixed  tiny + 16 larger files (1-8 MiB) with the large-file edge cases
  small  ~200,000 files of 0-64 KiB, 30% duplicates, nested depth <= 6
  large  ~300 files of 1-64 MiB (~4 GiB), 40% duplicates, tail/middle variants

The same (preset, seed) always produces the same names, sizes, contents and
mtimes (generated presets only). Inode numbers are of course not reproduced.
"""
import argparse
import hashlib
import json
import math
import os
import random
import shutil
import stat
import sys
import time

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

PRESETS = {
    "tiny": dict(kind="small", n_files=2_000, files_per_dir=50, max_depth=6,
                 median=3000, sigma=1.4, max_size=64 * KiB, dup_frac=0.30,
                 empty_frac=0.01, hardlink_frac=0.01, near_frac=0.03,
                 hidden_frac=0.01, space_frac=0.01, n_symlinks=8,
                 big_group=25, full_hl_groups=2,
                 wide_buckets=[(472, 40, "mid"), (8192, 30, "tail")]),
    "small": dict(kind="small", n_files=200_000, files_per_dir=50, max_depth=6,
                  median=3000, sigma=1.4, max_size=64 * KiB, dup_frac=0.30,
                  empty_frac=0.005, hardlink_frac=0.005, near_frac=0.01,
                  hidden_frac=0.005, space_frac=0.005, n_symlinks=24,
                  big_group=500, full_hl_groups=5,
                  wide_buckets=[(472, 1000, "mid"), (8192, 500, "tail"),
                                (65536, 300, "mid")]),
    "large": dict(kind="large", n_files=300, total=4 * GiB, min_size=1 * MiB,
                  max_size=64 * MiB, dup_frac=0.40, near_families=10, n_dirs=12),
    "mixed": dict(kind="mixed", small="tiny",
                  large=dict(n_files=16, total=48 * MiB, min_size=1 * MiB,
                             max_size=8 * MiB, dup_frac=0.40, near_families=2,
                             n_dirs=2)),
}

EXTS = [".txt", ".rs", ".py", ".html", ".json", ".bin", ".c", ".h", ".md", ".dat", ""]
# sizes around typical partial-hash block boundaries
BOUNDARY_SIZES = [1, 2, 3, 7, 8, 9, 100, 511, 512, 513, 4095, 4096, 4097,
                  8191, 8192, 8193, 16383, 16384, 16385, 32768, 65535, 65536]


def log(*a):
    print("[gen]", *a, file=sys.stderr, flush=True)


class Writer:
    """Writes files, records content digests per relpath."""

    def __init__(self, root):
        self.root = root
        self.digest = {}      # relpath -> sha1 hex (regular files only)
        self.n_written = 0
        self.bytes_written = 0
        self.symlinks = []    # (relpath, target)

    def path(self, rel):
        return os.path.join(self.root, rel)

    def write(self, rel, data, digest=None):
        fd = os.open(self.path(rel), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_EXCL, 0o644)
        try:
            mv = memoryview(data)
            while mv:
                n = os.write(fd, mv)
                mv = mv[n:]
        finally:
            os.close(fd)
        if digest is None:
            digest = hashlib.sha1(data).hexdigest()
        self.digest[rel] = digest
        self.n_written += 1
        self.bytes_written += len(data)
        return digest

    def write_stream(self, rel, chunks):
        h = hashlib.sha1()
        n = 0
        fd = os.open(self.path(rel), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_EXCL, 0o644)
        try:
            for c in chunks:
                h.update(c)
                mv = memoryview(c)
                while mv:
                    k = os.write(fd, mv)
                    mv = mv[k:]
                n += len(c)
        finally:
            os.close(fd)
        d = h.hexdigest()
        self.digest[rel] = d
        self.n_written += 1
        self.bytes_written += n
        return d

    def copy(self, src_rel, dst_rel):
        """Full data copy (new inode) of an already written file."""
        with open(self.path(src_rel), "rb") as fs, \
                open(self.path(dst_rel), "xb") as fd:
            size = os.fstat(fs.fileno()).st_size
            off = 0
            while off < size:
                n = os.copy_file_range(fs.fileno(), fd.fileno(), size - off)
                if n == 0:
                    break
                off += n
        self.digest[dst_rel] = self.digest[src_rel]
        self.n_written += 1
        self.bytes_written += size

    def hardlink(self, src_rel, dst_rel):
        os.link(self.path(src_rel), self.path(dst_rel))
        self.digest[dst_rel] = self.digest[src_rel]

    def symlink(self, target, dst_rel):
        os.symlink(target, self.path(dst_rel))
        self.symlinks.append((dst_rel, target))


# ---------------------------------------------------------------- tree / names
class Tree:
    def __init__(self, rng, n_dirs, max_depth, base="", hidden_dir=True):
        self.rng = rng
        self.dirs = [base]
        depth = [0]
        nchild = [0]
        for i in range(1, n_dirs):
            while True:
                p = rng.randrange(len(self.dirs))
                if depth[p] < max_depth:
                    break
            nchild[p] += 1
            name = "d%02d" % nchild[p]
            if hidden_dir and i == n_dirs // 2:
                name = ".hidden" + name
            self.dirs.append(os.path.join(self.dirs[p], name) if self.dirs[p] else name)
            depth.append(depth[p] + 1)
            nchild.append(0)
        self.counter = 0

    def mkdirs(self, root):
        for d in self.dirs:
            os.makedirs(os.path.join(root, d), exist_ok=True)

    def new_path(self, hidden_frac=0.0, space_frac=0.0, ext=None):
        rng = self.rng
        d = self.dirs[rng.randrange(len(self.dirs))]
        self.counter += 1
        if ext is None:
            ext = EXTS[rng.randrange(len(EXTS))]
        name = "f%07d%s" % (self.counter, ext)
        r = rng.random()
        if r < hidden_frac:
            name = "." + name
        elif r < hidden_frac + space_frac:
            name = "copy of " + name  # spaces in names
        return os.path.join(d, name) if d else name


# ---------------------------------------------------------------- small files
class SmallContent:
    POOL = 8 * MiB

    def __init__(self, rng):
        self.rng = rng
        self.pool = rng.randbytes(self.POOL + 64 * KiB + 16)
        self.next_id = 1

    def make(self, size):
        """Unique content of `size` bytes (sizes < 8 may collide naturally)."""
        if size == 0:
            return b""
        cid = self.next_id
        self.next_id += 1
        hdr = b"\xa5" + cid.to_bytes(7, "little")
        if size <= 8:
            return hdr[:size]
        off = self.rng.randrange(self.POOL)
        return hdr + self.pool[off + 8: off + size]


def lognormal_size(rng, median, sigma, max_size, min_size=1):
    s = int(rng.lognormvariate(math.log(median), sigma))
    return max(min_size, min(max_size, s))


def dup_group_sizes(rng, redundant_target, big_group):
    """Draw group sizes (>=2) until sum(size-1) reaches the target."""
    sizes = []
    total = 0
    if big_group and big_group - 1 <= redundant_target:
        sizes.append(big_group)
        total += big_group - 1
    while total < redundant_target:
        r = rng.random()
        if r < 0.70:
            g = 2
        elif r < 0.90:
            g = rng.randint(3, 5)
        elif r < 0.96:
            g = rng.randint(6, 9)
        else:
            g = rng.randint(10, 40)
        g = min(g, redundant_target - total + 1)
        sizes.append(g)
        total += g - 1
    return sizes


def gen_small(w, rng, p, base="", stats=None):
    N = p["n_files"]
    n_dirs = max(1, N // p["files_per_dir"])
    tree = Tree(rng, n_dirs, p["max_depth"], base=base)
    tree.mkdirs(w.root)
    sc = SmallContent(rng)
    hid, spc = p["hidden_frac"], p["space_frac"]
    size = lambda: lognormal_size(rng, p["median"], p["sigma"], p["max_size"])

    n_empty = max(2, int(N * p["empty_frac"]))
    n_hl = max(2, int(N * p["hardlink_frac"]))
    n_near_fam = max(4, int(N * p["near_frac"] / 4))
    redundant = int(N * p["dup_frac"])
    groups = dup_group_sizes(rng, redundant, p["big_group"])
    st = dict(empty=n_empty, hardlink_extra_paths=0, near_families=n_near_fam,
              dup_groups_planned=len(groups), dup_redundant_planned=redundant)

    all_regular = []     # nonempty regular relpaths (candidates for links)
    dup_members = []

    # 1. duplicate groups (some entirely hard-linked already)
    full_hl = set(rng.sample(range(1, len(groups)), min(p["full_hl_groups"], len(groups) - 1)))
    n_files_used = 0
    for gi, g in enumerate(groups):
        data = sc.make(size())
        first = tree.new_path(hid, spc)
        d = w.write(first, data)
        members = [first]
        for _ in range(g - 1):
            q = tree.new_path(hid, spc)
            if gi in full_hl:
                w.hardlink(first, q)
            else:
                w.write(q, data, d)
            members.append(q)
        n_files_used += g
        all_regular.extend(members)
        dup_members.extend(members)

    # 2. near-duplicate families: same size, differ in first / middle / last byte
    for _ in range(n_near_fam):
        if rng.random() < 0.5:
            s = BOUNDARY_SIZES[rng.randrange(len(BOUNDARY_SIZES))]
        else:
            s = lognormal_size(rng, p["median"], p["sigma"], p["max_size"], min_size=16)
        b = sc.make(s)
        variants = [b]
        for pos in (0, s // 2, s - 1):
            v = bytearray(b)
            v[pos] ^= 0xFF
            v = bytes(v)
            if v not in variants:
                variants.append(v)
        for vi, v in enumerate(variants):
            q = tree.new_path(hid, spc)
            d = w.write(q, v)
            all_regular.append(q)
            n_files_used += 1
            # sometimes the base or a variant has a real duplicate as well
            if rng.random() < (0.3 if vi == 0 else 0.15):
                q2 = tree.new_path(hid, spc)
                w.write(q2, v, d)
                all_regular.append(q2)
                n_files_used += 1

    # 2b. wide same-size buckets: many distinct files of one size that share
    #     everything but 8 bytes at the end or in the middle (like rustdoc
    #     redirect pages); defeats prefix (and suffix) hashing and punishes
    #     pairwise comparison. ~10% of them also have a true duplicate.
    for bi, (s, count, where) in enumerate(p.get("wide_buckets", [])):
        base = sc.make(s)
        pos = s - 8 if where == "tail" else s // 2 - 4
        for j in range(count):
            v = bytearray(base)
            v[pos:pos + 8] = (0x5A << 56 | bi << 40 | j).to_bytes(8, "little")
            v = bytes(v)
            q = tree.new_path(hid, spc)
            d = w.write(q, v)
            all_regular.append(q)
            n_files_used += 1
            if rng.random() < 0.1:
                q2 = tree.new_path(hid, spc)
                w.write(q2, v, d)
                all_regular.append(q2)
                n_files_used += 1
    st["wide_buckets"] = p.get("wide_buckets", [])

    # 3. empty files
    for _ in range(n_empty):
        w.write(tree.new_path(hid, spc), b"")
    n_files_used += n_empty

    # 4. unique files
    n_unique = max(0, N - n_files_used - n_hl)
    for _ in range(n_unique):
        q = tree.new_path(hid, spc)
        w.write(q, sc.make(size()))
        all_regular.append(q)

    # 5. extra hard links to existing files (unique ones and dup-group members)
    made = 0
    while made < n_hl:
        src = dup_members[rng.randrange(len(dup_members))] if rng.random() < 0.4 \
            else all_regular[rng.randrange(len(all_regular))]
        for _ in range(rng.randint(1, 2)):
            w.hardlink(src, tree.new_path(hid, spc))
            made += 1
    st["hardlink_extra_paths"] = made

    # 6. symlinks: to files (relative), two to the same target, dangling, to a dir
    ns = p["n_symlinks"]
    targets = [dup_members[rng.randrange(len(dup_members))] if i % 2 else
               all_regular[rng.randrange(len(all_regular))] for i in range(ns)]
    targets.append(targets[0])  # second symlink to the same file
    for t in targets:
        q = tree.new_path(0, 0, ext=".lnk")
        w.symlink(os.path.relpath(t, os.path.dirname(q) or "."), q)
    w.symlink("does/not/exist", tree.new_path(0, 0, ext=".dangling"))
    # directory symlink to a directory that is not an ancestor (no loops)
    ddirs = [d for d in tree.dirs if d]
    for _ in range(100):
        a, b = rng.choice(ddirs), rng.choice(ddirs)
        if not (a + "/").startswith(b + "/") and not (b + "/").startswith(a + "/"):
            q = os.path.join(a, "dirlink")
            if not os.path.lexists(w.path(q)):
                w.symlink(os.path.relpath(b, a), q)
                break
    st["symlinks"] = len(w.symlinks)
    st["dirs"] = len(tree.dirs)
    if stats is not None:
        stats.update(st)
    return tree


# ---------------------------------------------------------------- large files
class LargeContent:
    POOL = 64 * MiB
    CHUNK = 1 * MiB

    def __init__(self, rng):
        self.rng = rng
        self.pool = rng.randbytes(self.POOL + self.CHUNK)
        self.next_id = 1

    def spec(self, size):
        cid = self.next_id
        self.next_id += 1
        nchunks = (size + self.CHUNK - 1) // self.CHUNK
        offs = [self.rng.randrange(self.POOL) for _ in range(nchunks)]
        return dict(cid=cid, size=size, offs=offs, mods=[])

    def byte_at(self, sp, x):
        i, k = divmod(x, self.CHUNK)
        if i == 0 and k < 8:
            return (b"\xa5" + sp["cid"].to_bytes(7, "little"))[k]
        return self.pool[sp["offs"][i] + k]

    def chunks(self, sp):
        """Yield the content described by spec, applying byte modifications."""
        size = sp["size"]
        pos = 0
        for i, off in enumerate(sp["offs"]):
            n = min(self.CHUNK, size - pos)
            c = self.pool[off: off + n]
            if i == 0:
                c = b"\xa5" + sp["cid"].to_bytes(7, "little") + c[8:]
            mods = [m for m in sp["mods"] if m[0] < pos + n and m[0] + len(m[1]) > pos]
            if mods:
                c = bytearray(c)
                for (mpos, mdata) in mods:
                    a = max(mpos, pos)
                    b = min(mpos + len(mdata), pos + n)
                    c[a - pos:b - pos] = mdata[a - mpos:b - mpos]
                c = bytes(c)
            yield c
            pos += n


def gen_large(w, rng, p, base="", stats=None):
    N = p["n_files"]
    lc = LargeContent(rng)
    dirs = []
    for i in range(p["n_dirs"]):
        d = os.path.join(base, "big%02d" % i, "sub%d" % (i % 3)) if i % 2 else \
            os.path.join(base, "big%02d" % i)
        os.makedirs(w.path(d), exist_ok=True)
        dirs.append(d)
    counter = [0]

    def new_path():
        counter[0] += 1
        return os.path.join(dirs[rng.randrange(len(dirs))], "L%04d.bin" % counter[0])

    lo, hi = p["min_size"], p["max_size"]

    def draw():
        return int(math.exp(rng.uniform(math.log(lo), math.log(hi))))

    # plan: list of (size, copies, kind)
    redundant = int(N * p["dup_frac"])
    plan = []
    nf = p["near_families"]
    for i in range(nf):
        # base, tail-variant, mid-variant; some with copies
        plan.append(["near", draw(), [1 + (i % 2), 1 + (i % 3 == 0), 1]])
    used = sum(sum(c) for _, _, c in plan)
    red_used = sum(sum(c) - len(c) for _, _, c in plan)
    while red_used < redundant:
        r = rng.random()
        g = 2 if r < 0.75 else (rng.randint(3, 4) if r < 0.95 else 6)
        g = min(g, redundant - red_used + 1)
        plan.append(["dup", draw(), [g]])
        used += g
        red_used += g - 1
    while used < N:
        plan.append(["uniq", draw(), [1]])
        used += 1
    # scale sizes to reach the target total
    for _ in range(4):
        tot = sum(s * sum(c) for _, s, c in plan)
        f = p["total"] / tot
        for e in plan:
            e[1] = max(lo, min(hi, int(e[1] * f)))
    # make a few sizes "round" (exact MiB multiples) - common in practice
    for e in plan[::7]:
        e[1] = max(lo, (e[1] // MiB) * MiB)

    n_near_files = 0
    for kind, size, copies in plan:
        sp = lc.spec(size)
        specs = [sp]
        if kind == "near":
            t = dict(sp, mods=[(size - 4096, rng.randbytes(4096))])      # last 4 KiB differ
            mid = size // 2                                                # one middle byte
            m = dict(sp, mods=[(mid, bytes([lc.byte_at(sp, mid) ^ 0xFF]))])
            specs += [t, m]
        for s_i, (spc, ncopies) in enumerate(zip(specs, copies)):
            first = new_path()
            w.write_stream(first, lc.chunks(spc))
            for _ in range(ncopies - 1):
                w.copy(first, new_path())
            if kind == "near":
                n_near_files += ncopies
    if stats is not None:
        stats.update(dict(large_contents=len(plan),
                          large_near_families=nf, large_near_files=n_near_files,
                          large_redundant_planned=redundant))


# ---------------------------------------------------------------- truth
def write_truth(root, digests, truth_path, mtime_rng=None):
    """Walk the tree; for each regular file emit relpath, size, ino, nlink, sha1.
    Files not written by us are hashed here.  With mtime_rng every
    regular file gets a deterministic mtime in 2020-2023 (so copies differ in
    mtime like real copies usually do, and runs are reproducible)."""
    rows = []
    n_sym = 0
    hashed = {}
    for dp, dn, fn in os.walk(root):
        dn.sort()
        for f in sorted(fn) + []:
            full = os.path.join(dp, f)
            st = os.lstat(full)
            rel = os.path.relpath(full, root)
            if mtime_rng is not None and stat.S_ISREG(st.st_mode):
                t = (1577836800 + mtime_rng.randrange(3 * 365 * 86400)) * 10**9 \
                    + mtime_rng.randrange(10**9)
                os.utime(full, ns=(t, t))
            if stat.S_ISLNK(st.st_mode):
                n_sym += 1
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            d = digests.get(rel) if digests is not None else None
            if d is None:
                key = (st.st_dev, st.st_ino)
                d = hashed.get(key)
                if d is None:
                    h = hashlib.sha1()
                    with open(full, "rb") as fh:
                        while True:
                            b = fh.read(1 << 20)
                            if not b:
                                break
                            h.update(b)
                    d = h.hexdigest()
                    hashed[key] = d
            rows.append((rel, st.st_size, st.st_ino, st.st_nlink, d))
        # symlinked directories appear in dn; count them
        for d in dn:
            if os.path.islink(os.path.join(dp, d)):
                n_sym += 1
    rows.sort()
    with open(truth_path, "w", encoding="utf-8", errors="surrogateescape") as fh:
        fh.write("#relpath\tsize\tino\tnlink\tsha1\n")
        for r in rows:
            fh.write("%s\t%d\t%d\t%d\t%s\n" % r)
    return rows, n_sym


def truth_summary(rows):
    """Summary in the two canonical views (see normalize.py)."""
    out = {}
    for view in ("paths", "inodes"):
        for empty in (False, True):
            by = {}
            seen_ino = set()
            for rel, size, ino, nlink, d in rows:
                if size == 0 and not empty:
                    continue
                if view == "inodes":
                    if ino in seen_ino:
                        continue
                    seen_ino.add(ino)
                by.setdefault(d, []).append(size)
            groups = [v for v in by.values() if len(v) >= 2]
            out["%s%s" % (view, "+empty" if empty else "")] = dict(
                groups=len(groups),
                redundant_files=sum(len(g) - 1 for g in groups),
                redundant_bytes=sum((len(g) - 1) * g[0] for g in groups))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("preset", choices=sorted(PRESETS))
    ap.add_argument("--root", default="/tmp/bench-data")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--force", action="store_true", help="delete an existing tree first")
    a = ap.parse_args()

    root = os.path.abspath(a.root)
    d = root
    while True:  # never write a benchmark tree into a git checkout
        if os.path.exists(os.path.join(d, ".git")):
            sys.exit("refusing to generate data inside the git checkout at %s" % d)
        if os.path.dirname(d) == d:
            break
        d = os.path.dirname(d)
    dest = os.path.join(root, a.preset)
    if os.path.lexists(dest):
        if not a.force:
            sys.exit("%s exists (use --force to regenerate)" % dest)
        log("removing", dest)
        shutil.rmtree(dest)
    os.makedirs(dest)
    p = PRESETS[a.preset]
    rng = random.Random("%s:%d" % (a.preset, a.seed))
    stats = {}
    t0 = time.time()
    w = Writer(dest)
    if p["kind"] == "small":
        gen_small(w, rng, p, stats=stats)
        digests = w.digest
    elif p["kind"] == "large":
        gen_large(w, rng, p, stats=stats)
        digests = w.digest
    elif p["kind"] == "mixed":
        gen_small(w, rng, PRESETS[p["small"]], base="", stats=stats)
        gen_large(w, rng, p["large"], base="large", stats=stats)
        digests = w.digest
    else:
        sys.exit("unknown preset kind %r" % p["kind"])
    t1 = time.time()
    mrng = random.Random("%s:%d:mtime" % (a.preset, a.seed)) if digests is not None else None
    rows, n_sym = write_truth(dest, digests, dest + ".truth.tsv", mrng)
    t2 = time.time()
    meta = dict(preset=a.preset, seed=a.seed, params=p, dir=dest,
                regular_paths=len(rows), distinct_inodes=len({r[2] for r in rows}),
                bytes_paths=sum(r[1] for r in rows),
                bytes_inodes=sum(s for s in {r[2]: r[1] for r in rows}.values()),
                empty_paths=sum(1 for r in rows if r[1] == 0),
                symlinks=n_sym, stats=stats, truth=truth_summary(rows),
                gen_seconds=round(t1 - t0, 2), truth_seconds=round(t2 - t1, 2))
    with open(dest + ".meta.json", "w") as fh:
        json.dump(meta, fh, indent=1)
    log("%s: %d regular paths, %.1f MiB, %d symlinks, gen %.1fs" % (
        a.preset, len(rows), meta["bytes_paths"] / MiB, n_sym, t1 - t0))
    log("truth (inodes view, no empty):", meta["truth"]["inodes"])


if __name__ == "__main__":
    main()
