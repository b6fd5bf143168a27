import { describe, expect, it } from 'vitest';
import { fmtTime, publicLabel, yuan } from './labels';

describe('labels', () => {
  it('names the four public result categories as the plans do', () => {
    expect(Object.values(publicLabel)).toEqual(['抽查未发现问题', '发现问题已责令改正', '行政处罚', '无法联系']);
  });
  it('prints fen as yuan and missing times as a dash', () => {
    expect(yuan(123456)).toBe('1234.56');
    expect(fmtTime(null)).toBe('—');
  });
});
