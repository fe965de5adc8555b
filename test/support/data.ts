/** Monthly revenue of two regions: North grows by 110 % from January to March, South by 8 %. */
export const SALES_CSV = [
  'month,region,revenue',
  '2024-01,North,100',
  '2024-01,South,120',
  '2024-02,North,150',
  '2024-02,South,125',
  '2024-03,North,210',
  '2024-03,South,130',
].join('\n');

/** Code over SALES_CSV that prints the fastest-growing region and saves a plot, revenue.png. */
export const SALES_PLOT_CODE = [
  'import pandas as pd',
  'import matplotlib.pyplot as plt',
  "df = pd.read_csv('sales.csv')",
  "by_month = df.pivot(index='month', columns='region', values='revenue')",
  'growth = (by_month.iloc[-1] / by_month.iloc[0] - 1).sort_values(ascending=False)',
  "print(f'fastest growth: {growth.index[0]} {growth.iloc[0]:.0%}')",
  'by_month.plot(title="Revenue by month")',
  "plt.savefig('revenue.png')",
  'plt.close()',
].join('\n');
