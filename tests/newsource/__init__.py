"""A throwaway kind of status source, as a contributor adding one would write it: this folder and one
registry line (which the test adds at run time), nothing else in the bot touched."""
