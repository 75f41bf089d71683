"""Writes: workflows that change rows or call the platforms (HackSoft style)."""
