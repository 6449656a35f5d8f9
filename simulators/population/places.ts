// Address and phone material. Real city/state/ZIP-prefix/area-code combinations so addresses look
// plausible, but street numbers are random and every phone number is in the 555-0100..0199 block
// reserved for fiction: nothing here points at a real household.

export type City = { readonly city: string; readonly state: string; readonly zip3: string; readonly areaCode: string };

const city = (entry: string): City => {
  const [name, state, zip3, areaCode] = entry.split('|') as [string, string, string, string];
  return { city: name, state, zip3, areaCode };
};

/** Weighted towards two metro areas (a hospital's catchment), with a long tail elsewhere. */
export const CITIES: readonly City[] = [
  'Madison|WI|537|608', 'Madison|WI|537|608', 'Middleton|WI|535|608', 'Sun Prairie|WI|535|608', 'Fitchburg|WI|537|608',
  'Verona|WI|535|608', 'Janesville|WI|535|608', 'Milwaukee|WI|532|414', 'Milwaukee|WI|532|414', 'Waukesha|WI|531|262',
  'Kansas City|MO|641|816', 'Kansas City|MO|641|816', 'Independence|MO|640|816', "Lee's Summit|MO|640|816", 'Overland Park|KS|662|913',
  'Olathe|KS|660|913', 'Kansas City|KS|661|913', 'Liberty|MO|640|816', 'Chicago|IL|606|312', 'Evanston|IL|602|847',
  'Rockford|IL|611|815', 'Minneapolis|MN|554|612', 'Saint Paul|MN|551|651', 'Des Moines|IA|503|515', 'Omaha|NE|681|402',
  'St. Louis|MO|631|314', 'Springfield|MO|658|417', 'Columbia|MO|652|573', 'Topeka|KS|666|785', 'Wichita|KS|672|316',
  'Denver|CO|802|303', 'Austin|TX|787|512', 'San Antonio|TX|782|210', 'Houston|TX|770|713', 'Phoenix|AZ|850|602',
  'Albuquerque|NM|871|505', 'Los Angeles|CA|900|213', 'San Jose|CA|951|408', 'Seattle|WA|981|206', 'Portland|OR|972|503',
  'Boston|MA|021|617', 'Worcester|MA|016|508', 'Providence|RI|029|401', 'New Haven|CT|065|203', 'Brooklyn|NY|112|718',
  'Albany|NY|122|518', 'Philadelphia|PA|191|215', 'Pittsburgh|PA|152|412', 'Baltimore|MD|212|410', 'Richmond|VA|232|804',
  'Raleigh|NC|276|919', 'Atlanta|GA|303|404', 'Miami|FL|331|305', 'Orlando|FL|328|407', 'Nashville|TN|372|615',
  'Louisville|KY|402|502', 'Columbus|OH|432|614', 'Cleveland|OH|441|216', 'Detroit|MI|482|313', 'Ann Arbor|MI|481|734',
  'Indianapolis|IN|462|317', 'New Orleans|LA|701|504', 'Honolulu|HI|968|808', 'Anchorage|AK|995|907', 'San Juan|PR|009|787',
].map(city);

export const STREET_NAMES: readonly string[] = [
  'Main', 'Oak', 'Maple', 'Cedar', 'Pine', 'Elm', 'Washington', 'Lake', 'Hill', 'Park', 'Walnut', 'Sunset', 'Lincoln', 'Jackson',
  'Church', 'River', 'Highland', 'Willow', 'Spring', 'Meadow', 'Forest', 'Ridge', 'Franklin', 'Jefferson', 'Madison', 'Adams',
  'Chestnut', 'Birch', 'Dogwood', 'Magnolia', 'Hickory', 'Sycamore', 'Aspen', 'Prairie', 'Mill', 'Center', 'Union', 'Market',
  'Broad', 'Water', 'Academy', 'College', 'University', 'Fairview', 'Greenwood', 'Lakeview', 'Riverside', 'Orchard', 'Valley',
  'Hillcrest', 'Woodland', 'Cherry', 'Locust', 'Monroe', 'Grant', 'Sherman', 'Kenwood', 'Dayton', 'Gorham', 'Mifflin', 'Johnson',
  'Martin Luther King Jr', 'César Chávez', 'Old Mill', 'Stone Creek', 'Fox Run', 'Country Club', 'Harbor', 'Bay', 'Canyon',
  'Mesa', 'Sierra', 'Los Robles', 'El Camino', 'Kingston', 'Sheridan', 'Wellington', 'Cambridge', 'Oxford', 'Brookside',
];

export const STREET_SUFFIXES: readonly string[] = ['St', 'Ave', 'Rd', 'Dr', 'Ln', 'Blvd', 'Ct', 'Way', 'Pl', 'Cir', 'Ter', 'Pkwy'];

export const EMAIL_DOMAINS: readonly string[] = ['example.com', 'example.org', 'example.net', 'mail.example.com'];
