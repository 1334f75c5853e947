"""`stock_replaced(stock)`: a new stock is in service, sent once the transaction that put it there has committed.

The structures listen to it (`structures.receivers`) to mark again those the directory no longer holds, so that
this app needs no import of theirs.
"""

from django.dispatch import Signal

stock_replaced = Signal()
