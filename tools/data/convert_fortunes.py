"""Builds data/fortunes, the embedded character-level text corpus, from Debian's `fortunes` package.

The corpus is five of the package's plain-text fortune files, concatenated unchanged in this order (a '%'
line separates fortunes, as in the files), gzipped; the package's copyright file is the licence beside it.
Made from fortunes 1:1.99.1-7.3 (Debian 12). Read the package without installing it:

    apt-get download fortunes && dpkg-deb -x fortunes_*.deb pkg
    python3 tools/data/convert_fortunes.py pkg data/fortunes
"""
import gzip
import os
import shutil
import sys

FILES = ["humorists", "platitudes", "science", "tao", "wisdom"]


def main(root, out):
    text = b"".join(open(os.path.join(root, "usr/share/games/fortunes", name), "rb").read() for name in FILES)
    text.decode("utf-8")  # the corpus is UTF-8; fail here rather than in the loader
    os.makedirs(out, exist_ok=True)
    # mtime=0: the same input gives the same bytes, so rebuilding leaves the repository unchanged.
    with open(os.path.join(out, "fortunes.txt.gz"), "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0, filename="") as f:
        f.write(text)
    shutil.copyfile(os.path.join(root, "usr/share/doc/fortunes/copyright"), os.path.join(out, "LICENSE"))
    print(f"{len(text)} bytes, {len(set(text.decode('utf-8')))} distinct characters")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
