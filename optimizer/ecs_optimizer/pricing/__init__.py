"""Monthly cost: prices, per-component costs, the savings model, the Savings Plan recommendation and realised savings."""
