// The part of @lhncbc/ucum-lhc (CommonJS, untyped) that translation/units.ts uses.
declare module '@lhncbc/ucum-lhc' {
  type UcumUnit = { readonly csCode_: string; readonly moleExp_: number; readonly isSpecial_: boolean; readonly isArbitrary_: boolean };
  type Validation = { readonly status: 'valid' | 'invalid' | 'error'; readonly ucumCode: string | null; readonly msg: readonly string[] };
  type Conversion = {
    readonly status: 'succeeded' | 'failed' | 'error';
    readonly toVal: number | null;
    readonly msg: readonly string[];
    readonly fromUnit?: UcumUnit;
    readonly toUnit?: UcumUnit;
  };
  type BaseUnits = { readonly status: string; readonly unitToExp?: Readonly<Record<string, number>>; readonly fromUnitIsSpecial?: boolean };
  interface UcumLhcUtils {
    validateUnitString(unit: string, suggest?: boolean): Validation;
    convertUnitTo(from: string, value: number, to: string, options?: { molecularWeight?: number; charge?: number }): Conversion;
    convertToBaseUnits(unit: string, value: number): BaseUnits;
  }
  const ucum: { readonly UcumLhcUtils: { getInstance(): UcumLhcUtils } };
  export default ucum;
}
