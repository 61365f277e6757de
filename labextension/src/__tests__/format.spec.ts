import {
  durationSeconds,
  formatDuration,
  formatMetric,
  formatRelative,
  formatTimestamp,
  isNameSearch,
  middleEllipsis,
  runLabel,
  searchKey,
  shortId,
  toSearchFilter
} from '../format';

describe('format', () => {
  describe('shortId and runLabel', () => {
    it('keeps the first 8 characters of an id', () => {
      expect(shortId('3f2a1b9c4d5e6f70')).toBe('3f2a1b9c');
    });

    it('labels a named run with its short id and an unnamed one with the id alone', () => {
      expect(runLabel({ run_name: 'ridge', run_id: '3f2a1b9c4d5e' })).toBe('ridge · 3f2a1b9c');
      expect(runLabel({ run_name: '', run_id: '3f2a1b9c4d5e' })).toBe('3f2a1b9c');
      expect(runLabel({ run_name: null, run_id: '3f2a1b9c4d5e' })).toBe('3f2a1b9c');
    });
  });

  describe('formatDuration', () => {
    it.each([
      [null, ''],
      [Infinity, ''],
      [0.85, '850 ms'],
      [12.34, '12.3 s'],
      [245, '4 min 05 s'],
      [59.96, '60.0 s'],
      [7380, '2 h 03 min']
    ])('%p seconds read as %p', (seconds, text) => {
      expect(formatDuration(seconds)).toBe(text);
    });
  });

  describe('durationSeconds', () => {
    it('is null while running, else end minus start in seconds', () => {
      expect(durationSeconds({ start_time: 1000, end_time: null })).toBeNull();
      expect(durationSeconds({ start_time: 1000, end_time: 3500 })).toBe(2.5);
    });
  });

  describe('formatMetric', () => {
    it.each([
      [null, ''],
      [undefined, ''],
      [42, '42'],
      [0, '0'],
      [0.123456789, '0.12346'],
      [-3.14159265, '-3.1416'],
      [1234567.89, '1.2346e+6'],
      [0.0000123456, '1.2346e-5'],
      [0.1 + 0.2, '0.3']
    ])('%p formats as %p', (value, text) => {
      expect(formatMetric(value)).toBe(text);
    });
  });

  describe('searchKey', () => {
    it('leaves plain identifiers bare and backticks the rest', () => {
      expect(searchKey('metrics', 'rmse')).toBe('metrics.rmse');
      expect(searchKey('params', 'Ridge.alpha')).toBe('params.`Ridge.alpha`');
      expect(searchKey('metrics', 'error rate')).toBe('metrics.`error rate`');
      expect(searchKey('params', '2nd')).toBe('params.`2nd`');
    });
  });

  describe('timestamps', () => {
    it('are empty for null', () => {
      expect(formatRelative(null)).toBe('');
      expect(formatTimestamp(null)).toBe('');
    });

    it("format a time as short local date and time in the page's language", () => {
      const ms = new Date(2024, 2, 5, 7, 8, 9).getTime();
      document.documentElement.lang = 'en-US';
      expect(formatTimestamp(ms)).toBe('3/5/24, 7:08 AM');
      document.documentElement.lang = 'de-DE';
      expect(formatTimestamp(ms)).toBe('05.03.24, 07:08');
      document.documentElement.lang = '';
    });

    it('format a recent time relative to now', () => {
      expect(formatRelative(Date.now() - 5 * 60 * 1000)).toMatch(/5 minutes ago/);
    });
  });
});

describe('search box text', () => {
  it('sends plain words as a run-name search and filters as typed', () => {
    expect(toSearchFilter('')).toBe('');
    expect(toSearchFilter(' sunny ')).toBe("attributes.run_name ILIKE '%sunny%'");
    expect(toSearchFilter("o'k")).toBe("attributes.run_name ILIKE '%o\\'k%'");
    expect(toSearchFilter('metrics.rmse < 50')).toBe('metrics.rmse < 50');
    expect(toSearchFilter("params.model = 'ridge'")).toBe("params.model = 'ridge'");
    expect(toSearchFilter("attributes.run_name like '%a%'")).toBe("attributes.run_name like '%a%'");
    expect(isNameSearch('dapper osprey')).toBe(true);
    expect(isNameSearch('tags.team IN (1)')).toBe(false);
  });
});

describe('middleEllipsis', () => {
  it('keeps the start and the end of long names', () => {
    expect(middleEllipsis('learning_rate', 20)).toBe('learning_rate');
    const short = middleEllipsis('GradientBoostingRegressor.learning_rate', 16);
    expect(short).toHaveLength(16);
    expect(short).toBe('Gradien…ing_rate');
    expect(middleEllipsis('abc', 1)).toBe('…');
  });
});
