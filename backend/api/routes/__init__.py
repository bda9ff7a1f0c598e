"""Thin routers: parse, call one service, return."""
