import { checkInputs, parametersSchema, renderDescription, unknownPlaceholders } from './task-parameters';

const PARAMETERS = parametersSchema.parse({
  properties: {
    region: { type: 'string', enum: ['north', 'south'] },
    months: { type: 'integer', default: 3 },
    ratio: { type: 'number' },
    plot: { type: 'boolean', default: true },
    note: { type: 'string' },
  },
  required: ['region'],
});

describe('task parameters', () => {
  test('inputs are checked, with defaults filled in', () => {
    expect(checkInputs(PARAMETERS, { region: 'north', ratio: 0.5 })).toEqual({
      ok: true,
      values: { region: 'north', months: 3, ratio: 0.5, plot: true },
    });
  });

  test('each wrong field is named with what is wrong', () => {
    expect(checkInputs(PARAMETERS, { region: 'east', months: 2.5, ratio: 'x', plot: 'yes', colour: 'red' })).toEqual({
      ok: false,
      problems: [
        { path: 'inputs.colour', message: 'is not a parameter of this task' },
        { path: 'inputs.region', message: 'must be one of "north", "south"' },
        { path: 'inputs.months', message: 'must be an integer' },
        { path: 'inputs.ratio', message: 'must be a number' },
        { path: 'inputs.plot', message: 'must be true or false' },
      ],
    });
    expect(checkInputs(PARAMETERS, {})).toEqual({
      ok: false,
      problems: [{ path: 'inputs.region', message: 'is required' }],
    });
    expect(checkInputs(PARAMETERS, { region: 'north', ratio: Number.NaN })).toMatchObject({ ok: false });
  });

  test('the schema itself is checked: required names, defaults, types', () => {
    expect(parametersSchema.safeParse({ properties: { a: { type: 'string' } }, required: ['b'] }).success).toBe(false);
    expect(parametersSchema.safeParse({ properties: { a: { type: 'integer', default: 'x' } } }).success).toBe(false);
    expect(parametersSchema.safeParse({ properties: { a: { type: 'date' } } }).success).toBe(false);
    expect(parametersSchema.safeParse({ properties: { 'bad name': { type: 'string' } } }).success).toBe(false);
    expect(parametersSchema.parse({})).toEqual({ type: 'object', properties: {}, required: [] });
  });

  test('placeholders are filled; an optional parameter left out leaves nothing; unknown ones are found', () => {
    expect(
      renderDescription('Revenue of {{region}} over {{ months }} months{{note}}.', { region: 'north', months: 3 }),
    ).toBe('Revenue of north over 3 months.');
    expect(unknownPlaceholders('{{region}} and {{colour}} and {{colour}}', PARAMETERS)).toEqual(['colour']);
  });
});
