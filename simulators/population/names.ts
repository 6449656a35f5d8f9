// Synthetic name material. Common names first (the generator picks them with a skew, so family
// names repeat as they do in real populations); non-Anglo names included on purpose.
export const FEMALE_GIVEN = [
  'Mary', 'Patricia', 'Jennifer', 'Linda', 'Elizabeth', 'Barbara', 'Susan', 'Jessica', 'Sarah', 'Karen', 'Nancy', 'Lisa', 'Margaret', 'Betty', 'Sandra',
  'Ashley', 'Dorothy', 'Kimberly', 'Emily', 'Donna', 'Michelle', 'Carol', 'Amanda', 'Melissa', 'Deborah', 'Stephanie', 'Rebecca', 'Laura', 'Sharon', 'Cynthia',
  'Katherine', 'Amy', 'Angela', 'Helen', 'Anna', 'Brenda', 'Pamela', 'Nicole', 'Samantha', 'Christine', 'Catherine', 'Victoria', 'Alexandra', 'Abigail', 'Josephine',
  'Maria', 'Guadalupe', 'Lucia', 'Ximena', 'Camila', 'Valentina', 'Mei', 'Yuki', 'Priya', 'Ananya', 'Fatima', 'Aisha', 'Ngozi', 'Chiamaka', 'Olga',
  'Svetlana', 'Ingrid', 'Astrid', 'Siobhan', 'Aoife', 'Leilani', 'Nalani', 'Thi', 'Linh', 'Hana', 'Zainab', 'Amara', 'Renée', 'Zoë', 'Inés',
] as const;

export const MALE_GIVEN = [
  'James', 'Robert', 'John', 'Michael', 'David', 'William', 'Richard', 'Joseph', 'Thomas', 'Charles', 'Christopher', 'Daniel', 'Matthew', 'Anthony', 'Mark',
  'Donald', 'Steven', 'Paul', 'Andrew', 'Joshua', 'Kenneth', 'Kevin', 'Brian', 'George', 'Timothy', 'Ronald', 'Edward', 'Jason', 'Jeffrey', 'Ryan',
  'Jacob', 'Gary', 'Nicholas', 'Eric', 'Jonathan', 'Stephen', 'Larry', 'Justin', 'Scott', 'Benjamin', 'Samuel', 'Alexander', 'Patrick', 'Peter', 'Henry',
  'José', 'Luis', 'Carlos', 'Juan', 'Miguel', 'Alejandro', 'Wei', 'Hiroshi', 'Raj', 'Arjun', 'Mohammed', 'Omar', 'Chinedu', 'Oluwaseun', 'Dmitri',
  'Sergei', 'Lars', 'Sven', 'Seamus', 'Ciarán', 'Kai', 'Keanu', 'Minh', 'Duc', 'Tariq', 'Kwame', 'François', 'Jürgen', 'Søren', 'Björn',
] as const;

export const FAMILY = [
  'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez', 'Hernandez', 'Lopez', 'Gonzalez', 'Wilson', 'Anderson',
  'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin', 'Lee', 'Perez', 'Thompson', 'White', 'Harris', 'Sanchez', 'Clark', 'Ramirez', 'Lewis', 'Robinson',
  'Walker', 'Young', 'Allen', 'King', 'Wright', 'Scott', 'Torres', 'Nguyen', 'Hill', 'Flores', 'Green', 'Adams', 'Nelson', 'Baker', 'Hall',
  'Rivera', 'Campbell', 'Mitchell', 'Carter', 'Roberts', 'Gomez', 'Phillips', 'Evans', 'Turner', 'Diaz', 'Parker', 'Cruz', 'Edwards', 'Collins', 'Reyes',
  'Stewart', 'Morris', 'Morales', 'Murphy', 'Cook', 'Rogers', 'Gutierrez', 'Ortiz', 'Morgan', 'Cooper', 'Peterson', 'Bailey', 'Reed', 'Kelly', 'Howard',
  'Kim', 'Park', 'Chen', 'Wang', 'Li', 'Zhang', 'Liu', 'Yamamoto', 'Tanaka', 'Sato', 'Patel', 'Shah', 'Singh', 'Kumar', 'Gupta',
  'Okonkwo', 'Adeyemi', 'Mensah', 'Okafor', 'Abubakar', 'Haddad', 'Khalil', 'Nasser', 'Ivanova', 'Petrov', 'Kowalski', 'Nowak', 'Novak', 'Horvath', 'Schmidt',
  'Müller', 'Schneider', 'Fischer', 'Weber', 'Rossi', 'Russo', 'Esposito', 'Bianchi', "O'Brien", "O'Connor", 'McCarthy', 'Fitzgerald', 'Kaufusi', 'Kealoha', 'Tran',
  'Le', 'Pham', 'Hoang', 'Dubois', 'Lefebvre', 'Moreau', 'Jensen', 'Hansen', 'Larsen', 'Lindqvist', 'Van der Berg', 'De Jong', 'Santos', 'Oliveira', 'Pereira',
  'Núñez', 'Peña', 'Ibáñez', 'Castañeda', 'Abernathy', 'Whitfield', 'Ashworth', 'Pemberton', 'Quisenberry', 'Zielinski', 'Yilmaz', 'Demir', 'Kaya', 'Cohen', 'Levi',
] as const;

/** Formal given name -> nicknames a registrar might record instead. */
export const NICKNAMES: Readonly<Record<string, readonly string[]>> = {
  William: ['Bill', 'Will', 'Billy'], Robert: ['Bob', 'Rob', 'Bobby'], Richard: ['Rick', 'Dick'], James: ['Jim', 'Jimmy'], John: ['Jack', 'Johnny'],
  Michael: ['Mike'], Joseph: ['Joe'], Thomas: ['Tom', 'Tommy'], Charles: ['Charlie', 'Chuck'], Christopher: ['Chris'], Daniel: ['Dan', 'Danny'],
  Matthew: ['Matt'], Anthony: ['Tony'], Steven: ['Steve'], Andrew: ['Andy', 'Drew'], Joshua: ['Josh'], Kenneth: ['Ken', 'Kenny'], Edward: ['Ed', 'Ted'],
  Jeffrey: ['Jeff'], Nicholas: ['Nick'], Jonathan: ['Jon'], Benjamin: ['Ben'], Samuel: ['Sam'], Alexander: ['Alex'], Patrick: ['Pat'], Peter: ['Pete'],
  Elizabeth: ['Liz', 'Beth', 'Betty', 'Eliza'], Margaret: ['Maggie', 'Peggy', 'Meg'], Katherine: ['Kate', 'Kathy', 'Katie'], Catherine: ['Cathy', 'Cat'],
  Jennifer: ['Jen', 'Jenny'], Patricia: ['Pat', 'Trish', 'Patty'], Susan: ['Sue', 'Susie'], Jessica: ['Jess'], Deborah: ['Deb', 'Debbie'],
  Rebecca: ['Becky', 'Becca'], Victoria: ['Vicky', 'Tori'], Alexandra: ['Alex', 'Sasha'], Abigail: ['Abby'], Josephine: ['Jo', 'Josie'], Samantha: ['Sam'],
  Pamela: ['Pam'], Cynthia: ['Cindy'], Stephanie: ['Steph'], Christine: ['Chris', 'Tina'], Dorothy: ['Dot', 'Dottie'],
};

export const STREETS = ['Main St', 'Oak Ave', 'Maple Dr', 'Cedar Ln', 'Elm St', 'Pine Rd', 'Washington Blvd', 'Lakeview Ter', 'Park Pl', 'Hillcrest Dr', 'River Rd', 'Sunset Ave', 'Willow Way', 'Birch Ct', 'Highland Ave'] as const;

export const CITIES = [
  { city: 'Springfield', state: 'IL', zip: '627' }, { city: 'Madison', state: 'WI', zip: '537' }, { city: 'Columbus', state: 'OH', zip: '432' },
  { city: 'Franklin', state: 'TN', zip: '370' }, { city: 'Fairview', state: 'PA', zip: '165' }, { city: 'Greenville', state: 'SC', zip: '296' },
  { city: 'Riverside', state: 'CA', zip: '925' }, { city: 'Georgetown', state: 'TX', zip: '786' }, { city: 'Salem', state: 'OR', zip: '973' }, { city: 'Clinton', state: 'IA', zip: '527' },
] as const;
