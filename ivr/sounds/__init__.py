"""The recordings Asterisk plays for the project: what they are (``manifest``) and how the set
is made on a new machine (``build``: Asterisk's own recorded digits where they say the same
word, text-to-speech for everything else). ``python -m ivr.sounds`` builds the set."""
