"""What a user would build instead of Loopai: the same labelled rows in scikit-learn (TF-IDF of words and
characters, LinearSVC) behind FastAPI on uvicorn, answering what Loopai's execute answers.

    /usr/bin/python3 bench/peer/fastapi_peer.py --train rows.jsonl --port 18090

Needs Debian's python3-fastapi, python3-uvicorn and python3-sklearn. Prints "ready" once it serves.
"""

import argparse
import json

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import make_pipeline, make_union
from sklearn.svm import LinearSVC


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", required=True, help="JSON Lines of {input: {text}, output: label}")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    with open(args.train, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    texts = [row["input"]["text"] for row in rows]
    labels = [row["output"] for row in rows]
    model = make_pipeline(
        make_union(
            TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2)),
            TfidfVectorizer(sublinear_tf=True, analyzer="char_wb", ngram_range=(2, 5)),
        ),
        LinearSVC(),
    )
    model.fit(texts, labels)

    class Body(BaseModel):
        input: dict

    app = FastAPI()

    @app.post("/execute")
    def execute(body: Body) -> dict:
        score = model.decision_function([body.input.get("text", "")])[0]
        label = model.classes_[int(score > 0)] if score.ndim == 0 else model.classes_[score.argmax()]
        return {"output": label, "confidence": float(abs(score) if score.ndim == 0 else score.max())}

    print("ready", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
