"""Peer for bench/tokenize.sh: the Moses tokenizer (sacremoses) over a file, one line in, one
line out. Prints the CPU seconds spent tokenizing (the import and file opening excluded) on
its last line. Usage: tokenize_sacremoses.py INPUT OUTPUT"""
import sys
import time

from sacremoses import MosesTokenizer


def main() -> None:
    src, dst = sys.argv[1], sys.argv[2]
    tok = MosesTokenizer(lang="en")
    with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as out:
        start = time.process_time()
        for line in f:
            out.write(tok.tokenize(line.rstrip("\n"), escape=False, return_str=True))
            out.write("\n")
        elapsed = time.process_time() - start
    print(f"{elapsed:.6f}")


if __name__ == "__main__":
    main()
