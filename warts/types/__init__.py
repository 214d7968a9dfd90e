"""One module per warts record type (with its codec and renderers beside it).

Nothing is imported here: :mod:`warts.registry` names every module it
needs in its table of record types.
"""
