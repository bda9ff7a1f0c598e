"""`slmgen token`: mint an access token with the local secret, for signed-in use without Supabase."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    token = sub.add_parser(
        "token",
        help="print a development access token (signed with SUPABASE_JWT_SECRET) for a user id",
        description="Mint an HS256 access token shaped like Supabase's, so the signed-in flow works on one "
        "machine: send it as 'Authorization: Bearer <token>'. Refused when ENVIRONMENT=production.",
    )
    token.add_argument("--user-id", required=True, help="the user id the token speaks for (its 'sub')")
    token.add_argument("--email", default=None, help="the email address to put in the token")
    token.add_argument("--ttl", type=int, default=3600, help="seconds until the token expires (default 3600)")
    token.set_defaults(handler=run_token)


def run_token(args: argparse.Namespace) -> int:
    from backend.auth import mint_dev_token
    from backend.settings import Settings

    settings = Settings()
    if settings.environment == "production":
        print(
            "slmgen token is for development: with ENVIRONMENT=production, sign in through Supabase.",
            file=sys.stderr,
        )
        return 2
    user_id = str(args.user_id).strip()
    if not user_id or len(user_id) > 64:
        print("--user-id must be 1 to 64 characters.", file=sys.stderr)
        return 2
    if args.ttl <= 0:
        print("--ttl must be a positive number of seconds.", file=sys.stderr)
        return 2
    print(
        mint_dev_token(
            settings.supabase_jwt_secret, settings.supabase_url, user_id, email=args.email, ttl=args.ttl
        )
    )
    return 0
