// The vendor shapers by vendor name. Adding a simulated vendor is one module and one entry here.
import type { Vendor } from '../population/model.ts';
import type { ShaperContext, VendorShaper } from '../site-data.ts';
import { cernerShaper } from './cerner.ts';
import { epicShaper } from './epic.ts';

export const SHAPERS: Readonly<Record<Vendor, (ctx: ShaperContext) => VendorShaper>> = { epic: epicShaper, cerner: cernerShaper };

export { CERNER, CERNER_CODE_SETS, EPIC, STANDARD, cernerCodeSet } from './constants.ts';
