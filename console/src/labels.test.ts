import { describe, expect, it } from 'vitest';
import { creditCodeLabel, fmtTime, publicLabel, yuan } from './labels';

describe('labels', () => {
  it('names the four public result categories as the plans do', () => {
    expect(Object.values(publicLabel)).toEqual(['抽查未发现问题', '发现问题已责令改正', '行政处罚', '无法联系']);
  });
  it('prints fen as yuan and missing times as a dash', () => {
    expect(yuan(123456)).toBe('1234.56');
    expect(fmtTime(null)).toBe('—');
  });
  it('prints a unit without a credit code as 无, its ID masked', () => {
    expect(creditCodeLabel('91140106MA0K8C2X3Q')).toBe('91140106MA0K8C2X3Q');
    expect(creditCodeLabel('丽人美容店|迎泽区新建路1号|1401**********1234')).toBe('无（证件号码 1401**********1234）');
    expect(creditCodeLabel('某店|某路|')).toBe('无');
  });
});
