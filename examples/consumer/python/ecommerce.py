"""The e-commerce Consumer App of the concepts document: three Loop Apps behind one review flow.

    PYTHONPATH=clients/python python3 examples/consumer/python/ecommerce.py ["review text" ...]

Prints one JSON line per review: {"review": …, "decision": …}. Without arguments it runs a few sample reviews.
The server is $LOOPAI_URL (default http://127.0.0.1:8080), the key $LOOPAI_API_KEY, as LoopaiClient reads them.
"""

import json
import sys
from typing import Any, Dict, List, Optional

from loopai import LoopaiClient, LoopaiError


class EcommercePlatform:
    """Consumer App that uses several Loop Apps. Pass clients to use other servers or keys (a test does)."""

    def __init__(
        self,
        spam_detector: Optional[LoopaiClient] = None,
        sentiment_analyzer: Optional[LoopaiClient] = None,
        product_categorizer: Optional[LoopaiClient] = None,
    ) -> None:
        self.spam_detector = spam_detector or LoopaiClient("spam-detector-001")
        self.sentiment_analyzer = sentiment_analyzer or LoopaiClient("sentiment-analyzer-001")
        self.product_categorizer = product_categorizer or LoopaiClient("product-categorizer-001")

    def process_review(self, review: str) -> Dict[str, Any]:
        # Check if review is spam
        if self.spam_detector.execute({"text": review})["output"] == "spam":
            return {"status": "rejected", "reason": "spam"}

        # Analyze sentiment. The document sends {"text": review}; sentiment-analyzer-001's input schema
        # names the field "feedback", so the review goes there.
        sentiment = self.sentiment_analyzer.execute({"feedback": review})["output"]

        # Categorize product
        category = self.product_categorizer.execute({"text": review})["output"]

        return {
            "status": "approved",
            "sentiment": sentiment,
            "category": category,
        }


SAMPLE_REVIEWS = [
    "Amazing headphones! The noise cancelling and battery life are excellent, I love them.",
    "CLICK HERE to win a FREE iPhone!!! Limited offer, claim your prize now at www.win-prizes.example",
    "The frying pan scratched after one week and the handle got loose. Very disappointed.",
    "The novel was okay, a slow start but a decent ending.",
]


def main(argv: List[str]) -> int:
    platform = EcommercePlatform()
    try:
        for review in argv or SAMPLE_REVIEWS:
            decision = platform.process_review(review)
            print(json.dumps({"review": review, "decision": decision}), flush=True)
    except LoopaiError as err:
        print(f"ecommerce: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
