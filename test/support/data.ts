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
