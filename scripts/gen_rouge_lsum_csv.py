"""rouge-score 0.1.2's per-example CSV for multi-sentence summaries (CLI test of --rouge-newline).

    pip install rouge-score==0.1.2 nltk==3.10.4
    python3 scripts/gen_rouge_lsum_csv.py Tests/MetricsTests/Resources/rouge-score-lsum

Writes 40 random summaries of 1-4 sentences: targets.txt / predictions.txt for mixer (one
summary per line, sentences joined by " <n> ") and rouge-score.csv, the output of

    python -m rouge_score.rouge --target_filepattern=T --prediction_filepattern=P \
        --output_filename=rouge-score.csv --rouge_types=rouge1,rougeLsum,rouge2,rougeL \
        --aggregate=false --delimiter=@@@ --use_stemmer=true

on the same summaries with real newlines between sentences and "@@@" between records.
"""
import os, random, subprocess, sys, tempfile

out = sys.argv[1]
random.seed(3)
words = "the cat sat on a mat dog ran fast over lazy fox jumped quickly into river bank".split()
def sent():
    return " ".join(random.choice(words) for _ in range(random.randint(3, 9)))
T, P = [], []
for i in range(40):
    t = [sent() for _ in range(random.randint(1, 4))]
    p = [sent() for _ in range(random.randint(1, 4))] if random.random() < 0.5 else [s if random.random() < 0.6 else sent() for s in t]
    T.append(t); P.append(p)
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "targets.txt"), "w") as f: f.write("".join(" <n> ".join(t) + "\n" for t in T))
with open(os.path.join(out, "predictions.txt"), "w") as f: f.write("".join(" <n> ".join(p) + "\n" for p in P))
with tempfile.TemporaryDirectory() as d:
    with open(f"{d}/t.txt", "w") as f: f.write("".join("\n".join(t) + "@@@" for t in T))
    with open(f"{d}/p.txt", "w") as f: f.write("".join("\n".join(p) + "@@@" for p in P))
    subprocess.run([sys.executable, "-m", "rouge_score.rouge", f"--target_filepattern={d}/t.txt",
                    f"--prediction_filepattern={d}/p.txt", f"--output_filename={out}/rouge-score.csv",
                    "--rouge_types=rouge1,rougeLsum,rouge2,rougeL", "--aggregate=false", "--delimiter=@@@",
                    "--use_stemmer=true"], check=True)
