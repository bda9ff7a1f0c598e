"""Seed 001's training sessions: one per signed-in user, walked through setup → preprocess → train."""
