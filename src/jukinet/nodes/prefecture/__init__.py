"""The prefecture node (都道府県): identity information of its municipalities' residents (R1)."""
