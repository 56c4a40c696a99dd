"""The email Consumer App of the concepts document: three Loop Apps decide what happens to an incoming email.

    PYTHONPATH=clients/python python3 examples/consumer/python/email_client.py ['{"subject": …, "body": …, "sender": …}' ...]

Prints one JSON line per email: {"email": …, "decision": "move_to_spam" | {"folder": …, "priority": …}}.
Without arguments it runs a few sample emails. The server is $LOOPAI_URL (default http://127.0.0.1:8080), the key
$LOOPAI_API_KEY, as LoopaiClient reads them. (Not named email.py: that would hide the standard library's email
package, which the client uses.)
"""

import json
import sys
from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Optional, Union

from loopai import LoopaiClient, LoopaiError


@dataclass
class Email:
    subject: str
    body: str
    sender: str


class EmailClient:
    """Consumer App that orchestrates several Loop Apps. Pass clients to use other servers or keys (a test does)."""

    def __init__(
        self,
        spam_detector: Optional[LoopaiClient] = None,
        email_categorizer: Optional[LoopaiClient] = None,
        priority_scorer: Optional[LoopaiClient] = None,
    ) -> None:
        self.spam_detector = spam_detector or LoopaiClient("spam-detector-001")
        self.email_categorizer = email_categorizer or LoopaiClient("email-categorizer-001")
        self.priority_scorer = priority_scorer or LoopaiClient("priority-scorer-001")

    def process_incoming_email(self, email: Email) -> Union[str, Dict[str, Any]]:
        # Filter spam
        if self.spam_detector.execute({"text": email.body})["output"] == "spam":
            return "move_to_spam"

        # Categorize
        category = self.email_categorizer.execute({
            "subject": email.subject,
            "body": email.body,
        })["output"]

        # Score priority: the document sends the email object itself; over HTTP it goes as its JSON fields.
        # priority-scorer-001 answers low, normal or high (a label rather than a number: the offline learner
        # does not learn numbers yet).
        priority = self.priority_scorer.execute({"email": asdict(email)})["output"]

        return {
            "folder": category,
            "priority": priority,
        }


SAMPLE_EMAILS = [
    Email(
        subject="URGENT: production database is down",
        body="The checkout service has been failing for 10 minutes, customers cannot pay. Please join the incident call now.",
        sender="oncall@acme-corp.com",
    ),
    Email(
        subject="This week in design: 5 articles you missed",
        body="Our weekly newsletter: the best reads of the week. Unsubscribe at any time.",
        sender="newsletter@designweekly.example",
    ),
    Email(
        subject="You have been selected!",
        body="Congratulations, you WON a $1000 gift card! Click here to claim your FREE prize now.",
        sender="winner@prize-claim.example",
    ),
    Email(
        subject="Summer sale: 30% off everything",
        body="Shop our summer sale today and save 30% on all shoes and bags. Use code SUMMER30 at checkout.",
        sender="deals@shoeshop.example",
    ),
]


def main(argv: List[str]) -> int:
    client = EmailClient()
    emails = [Email(**json.loads(arg)) for arg in argv] if argv else SAMPLE_EMAILS
    try:
        for email in emails:
            decision = client.process_incoming_email(email)
            print(json.dumps({"email": asdict(email), "decision": decision}), flush=True)
    except LoopaiError as err:
        print(f"email_client: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
