"""The kernel: messages, effects, ports, settings, the commune's data, i18n, the safety screen.

Every layer may import it; it imports nothing of ours.
"""
