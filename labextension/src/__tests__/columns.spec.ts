import {
  buildColumns,
  fitRunLabel,
  fitRunName,
  NAME_COLUMN_MAX,
  NAME_COLUMN_MIN,
  nameColumnWidth
} from '../components/runs/columns';

// jsdom has no canvas: text is estimated at 7 px a character (measure.ts).

describe('the Run column', () => {
  it('is as wide as the longest first names and their badges, within its bounds', () => {
    const label = (name: string, badges: string[] = []) => ({ name, badges });
    expect(nameColumnWidth([label('calm-crane-690')])).toBe(NAME_COLUMN_MIN);
    // 20 characters: 140 px of text, 12 of padding, 13 for a chart-colour swatch.
    expect(nameColumnWidth([label('gentle-bison-686'), label('ridge-alpha-0.01-abc')])).toBe(165);
    // A 5-character badge: 35 px of text and 16 of padding and margin.
    expect(nameColumnWidth([label('gentle-bison-686', ['@prod'])])).toBe(188);
    expect(nameColumnWidth([label('x'.repeat(60))])).toBe(NAME_COLUMN_MAX);
  });

  it('shrinks alias badges before the name, down to a stub', () => {
    // 196 px of room: a 16-character name (112 px) and an 11-character badge (77 + 16).
    const fitted = fitRunLabel({ name: 'rapid-tapir-5841', badges: ['@challenger'] }, 196);
    expect(fitted.name).toBe('rapid-tapir-5841');
    expect(fitted.badges[0]).toBe('@challen…');
    // A long name keeps room for a 40 px badge stub.
    const long = fitRunLabel({ name: 'x'.repeat(40), badges: ['@champion'] }, 196);
    expect(long.name.length).toBe(22);
    expect(long.badges[0]).toBe('@c…');
    const roomy = { name: 'calm-crane-690', badges: ['@prod'] };
    expect(fitRunLabel(roomy, 196)).toEqual(roomy);
  });

  it('shortens a long name in the middle, keeping the end that tells runs apart', () => {
    const name = 'gradient-boosting-lr-0.05-depth-3';
    const fitted = fitRunName(name, 140);
    expect(fitted.length).toBe(20);
    expect(fitted).toBe('gradient-…05-depth-3');
    expect(fitRunName('calm-crane-690', 140)).toBe('calm-crane-690');
  });

  it('takes the width the user chose over the fitted one', () => {
    const fitted = buildColumns([], [], { nameWidth: 170 }).find(c => c.id === 'name');
    expect(fitted?.width).toBe(170);
    const chosen = buildColumns([], [], {
      nameWidth: 170,
      width: id => (id === 'name' ? 240 : undefined)
    });
    expect(chosen.find(c => c.id === 'name')?.width).toBe(240);
  });
});
