"""`trustscan local`: audits of the machine trustscan runs on."""
