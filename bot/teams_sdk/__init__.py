"""Everything that touches botbuilder / botframework lives here, so a move to the Teams SDK v2 or the
Microsoft 365 Agents SDK is local to this package. Elsewhere the bot deals in :mod:`bot.conversation.model`.
"""
