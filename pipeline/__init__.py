"""vnreport: figures, entities and statement classes from Vietnamese government reports.

The data flows through one module per stage:
read -> structure -> segment (underthesea tokens in a spaCy Doc) -> annotate -> write.
"""
__version__ = "0.1.0"
