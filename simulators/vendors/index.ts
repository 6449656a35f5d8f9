// The vendor shapers by vendor name. Adding a simulated vendor is one module and one entry here.
import type { Vendor } from '../population/model.ts';
import type { ShaperContext, VendorShaper } from '../site-data.ts';
import { athenaShaper } from './athena.ts';
import { cernerShaper } from './cerner.ts';
import { ATHENA, CERNER, EPIC } from './constants.ts';
import { epicShaper } from './epic.ts';

export const SHAPERS: Readonly<Record<Vendor, (ctx: ShaperContext) => VendorShaper>> = {
  epic: epicShaper,
  cerner: cernerShaper,
  athenahealth: athenaShaper,
};

/** Each vendor's default hospital zone (a site may name its own). */
export const DEFAULT_TIME_ZONES: Readonly<Record<Vendor, string>> = {
  epic: EPIC.timeZone,
  cerner: CERNER.timeZone,
  athenahealth: ATHENA.timeZone,
};

export { ATHENA, ATHENA_SYSTEMS, CERNER, CERNER_CODE_SETS, EPIC, STANDARD, cernerCodeSet } from './constants.ts';
