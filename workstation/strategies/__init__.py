"""Strategy plugins: discovery, hot reload, isolation, and the instances that run them.

Plugin authors import only ``workstation.strategy``; this package is the host side.
"""
