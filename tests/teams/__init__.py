"""A throwaway chat platform, as a contributor adding Microsoft Teams would write it: this folder and
one registry line (which the test adds at run time), nothing else in the bot touched."""
