// Name material for the synthetic population. Lists are ordered from common to rare: the generator
// picks with a Zipf-like skew, so a few family names repeat often (as Smith and Garcia do in real
// registries) and name-frequency weighting in matching has something to work with. Non-Anglo
// names, accents, apostrophes, hyphens and multi-word family names are included on purpose.

/** Whitespace-separated names; `_` stands for a space inside one name (De La Cruz). Duplicates dropped. */
const words = (s: string): readonly string[] => [
  ...new Set(
    s
      .trim()
      .split(/\s+/)
      .map((w) => w.replaceAll('_', ' ')),
  ),
];

export const FEMALE_GIVEN: readonly string[] = words(`
  Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy Margaret Betty Sandra
  Ashley Kimberly Emily Donna Michelle Dorothy Carol Amanda Melissa Deborah Stephanie Rebecca Sharon Laura Cynthia
  Katherine Amy Angela Shirley Anna Brenda Pamela Emma Nicole Helen Samantha Christine Debra Rachel Carolyn
  Janet Catherine Maria Heather Diane Ruth Julie Olivia Joyce Virginia Victoria Kelly Lauren Christina Joan
  Evelyn Judith Megan Andrea Cheryl Hannah Jacqueline Martha Gloria Teresa Ann Sara Madison Frances Kathryn
  Janice Jean Abigail Alice Judy Sophia Grace Denise Amber Doris Marilyn Danielle Beverly Isabella Theresa
  Diana Natalie Brittany Charlotte Marie Kayla Alexis Lori Alexandra Josephine Eleanor Margarita Guadalupe Rosa
  Ana Carmen Lucia Sofia Valentina Camila Ximena Mariana Daniela Gabriela Yesenia Leticia Veronica Adriana
  Mei Xiu Ying Li_Na Yuki Aiko Hana Keiko Min-ji Seo-yeon Ji-woo Thi Linh Mai Priya Ananya Lakshmi Deepa
  Aisha Fatima Zainab Amina Layla Noor Yasmin Ngozi Chiamaka Adaeze Folasade Abena Amara Wanjiru Olga Svetlana
  Natasha Irina Ingrid Astrid Freya Siobhan Aoife Niamh Leilani Nalani Renée Zoë Inés Chloé Anaïs Małgorzata
  Agnieszka Giulia Chiara Francesca Bridget Colleen Tamika Latoya Ebony Imani Keisha Shanice Dominique Monique
  Yolanda Gwendolyn Bernadette Rosemary Henrietta Mildred Edna Gertrude Agnes Hazel Irene Lillian Ethel Florence
  Ava Mia Harper Ella Aria Scarlett Chloe Penelope Layla_Marie Riley Zoey Nora Lily Hazel_Rose Aurora Savannah
  Audrey Brooklyn Bella Claire Skylar Lucy Paisley Everly Caroline Nova Genesis Emilia Kennedy Maya Willow
  Kinsley Naomi Aaliyah Elena Sarai Ariana Allison Gabriella Madeline Cora Ruby Eva Serenity Autumn Adeline
`);

export const MALE_GIVEN: readonly string[] = words(`
  James Robert John Michael David William Richard Joseph Thomas Charles Christopher Daniel Matthew Anthony Mark
  Donald Steven Paul Andrew Joshua Kenneth Kevin Brian George Timothy Ronald Edward Jason Jeffrey Ryan
  Jacob Gary Nicholas Eric Jonathan Stephen Larry Justin Scott Brandon Benjamin Samuel Gregory Alexander Frank
  Patrick Raymond Jack Dennis Jerry Tyler Aaron Jose Adam Nathan Henry Douglas Zachary Peter Kyle
  Ethan Walter Noah Jeremy Christian Keith Roger Terry Gerald Harold Sean Austin Carl Arthur Lawrence
  Dylan Jesse Jordan Bryan Billy Joe Bruce Gabriel Logan Albert Willie Alan Juan Wayne Elijah
  Randy Randolph Roy Vincent Ralph Eugene Russell Bobby Mason Philip Louis Harry Frederick Theodore Leonard Francis
  Luis Carlos Miguel Alejandro Francisco Jesús Javier Diego Rafael Ricardo Fernando Eduardo Mateo Santiago Emilio Guillermo José
  Wei Jian Hao Jun Hiroshi Takeshi Kenji Haruto Min-jun Ji-ho Seung-woo Duc Minh Quang Arjun Rahul Vikram
  Sanjay Ravi Mohammed Ahmed Omar Yusuf Ali Hassan Tariq Chinedu Oluwaseun Emeka Kwame Kofi Tendai Dmitri
  Sergei Ivan Nikolai Lars Anders Sven Erik Bjorn Liam Cian Seamus Declan Giuseppe Marco Luca Matteo
  Piotr Tomasz Krzysztof François Jérôme Andrés Joaquín Tomás René Darnell Tyrone Jamal DeShawn Malik Terrell
  Reginald Cedric Marcus Andre Lamar Otis Clarence Herbert Earl Howard Chester Lloyd Elmer Floyd Leroy
  Oliver Lucas Levi Sebastian Owen Julian Caleb Isaac Lincoln Grayson Hudson Ezra Nolan Wyatt Carter
  Hunter Jaxon Asher Eli Colton Landon Easton Cameron Evan Parker Roman Silas Miles Adrian Jace
`);

/** Family names, common first: US census order blended with the diversity of a large US city. */
export const FAMILY: readonly string[] = words(`
  Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson Anderson
  Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson
  Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall
  Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes
  Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard
  Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes
  Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan
  Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham
  Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens
  Murray Ford Castro Marshall Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen
  Freeman Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder
  Mason Dixon Muñoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox
  Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne
  Grant Dunn Kelley Spencer Hawkins Arnold Pierce Vazquez Hansen Peters Santos Hart Bradley Knight Elliott
  Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews Alvarado Ray Delgado Berry Perkins Hoffman Johnston
  Matthews Peña Richards Contreras Willis Carpenter Lawrence Sandoval Guerrero George Chapman Rios Estrada Ortega Watkins
  Greene Núñez Wheeler Valdez Harper Burke Larson Santiago Maldonado Morrison Franklin Carlson Austin Dominguez Carr
  Lawson Jacobs O'Brien Lynch Singh Vega Bishop Montgomery Oliver Jensen Harvey Williamson Gilbert Dean Sims
  Espinoza Howell Li Wong Reid Hanson Le McCoy Garrett Burton Fuller Wang Weber Welch Rojas
  Lucas Marquez Fields Park Yang Little Banks Padilla Day Walsh Bowman Schultz Luna Fowler Mejia
  Davidson Acosta Brewer May Holland Juarez Newman Pearson Curtis Cortez Douglas Schneider Joseph Barrett Navarro
  Pham Huang Zhang Liu Wu Xu Zhao Zhou Sun Ma Hu Lin Kaur Khan Shah
  Ahmed Ali Hussain Rahman Haddad Nasser Farah Mansour Okafor Adeyemi Okonkwo Mensah Osei Diallo Mwangi
  Abebe Tanaka Suzuki Sato Yamamoto Watanabe Nakamura Choi Jung Kang Cho Yoon Vu Hoang Huynh
  Phan Dang Bui Do Kowalski Nowak Wiśniewski Novak Horvat Rossi Russo Esposito Bianchi Romano Colombo
  Müller Schneider-Bauer Fischer Becker Hoffmann Dubois Lefebvre Moreau Laurent Girard Johansson Lindqvist Andersen Larsen Nielsen
  Ivanov Petrov Smirnov Popescu Papadopoulos Georgiou Kaya Yilmaz Demir Cohen Levy Friedman Goldberg Katz Shapiro
  O'Connor O'Neill O'Donnell O'Sullivan McCarthy McLaughlin MacLeod MacDonald Fitzgerald Gallagher Doherty Kavanagh Byrne Quinn Walsh-Kelly
  De_La_Cruz De_Leon Del_Rio Van_Dyke Van_Buren Vander_Meer St._John Da_Silva Dos_Santos Al-Sayed Ben-David Abu-Bakr
  Nakagawa Oyelaran Nwachukwu Chukwuemeka Balasubramanian Venkataraman Ramaswamy Krishnamurthy Subramanian Chattopadhyay
  Alvarado-Cruz Sepúlveda Echeverría Castañeda Ibáñez Báez Ordóñez Gutiérrez_Soto Villaseñor Zúñiga
  Whitfield Ashworth Pemberton Fairbanks Holloway Blackwood Winslow Hargreaves Thornbury Kingsley
`);

/**
 * Formal given names and the short forms registrars type instead. One site may know the person
 * as William and another as Bill: matching needs this table (or one like it) to link them.
 */
export const NICKNAMES: Readonly<Record<string, readonly string[]>> = {
  William: ['Bill', 'Will', 'Billy', 'Liam'],
  Robert: ['Bob', 'Rob', 'Bobby', 'Bert'],
  Elizabeth: ['Liz', 'Beth', 'Betty', 'Eliza', 'Lizzie'],
  Katherine: ['Kate', 'Kathy', 'Katie', 'Kat'],
  Catherine: ['Cathy', 'Kate', 'Cat'],
  Kathryn: ['Kate', 'Kathy'],
  Margaret: ['Maggie', 'Peggy', 'Meg', 'Marge'],
  James: ['Jim', 'Jimmy', 'Jamie'],
  John: ['Jack', 'Johnny'],
  Richard: ['Rick', 'Dick', 'Rich', 'Ricky'],
  Michael: ['Mike', 'Mikey', 'Mick'],
  Joseph: ['Joe', 'Joey'],
  Thomas: ['Tom', 'Tommy'],
  Charles: ['Charlie', 'Chuck', 'Chas'],
  Christopher: ['Chris', 'Kit'],
  Daniel: ['Dan', 'Danny'],
  Matthew: ['Matt'],
  Anthony: ['Tony'],
  Steven: ['Steve'],
  Stephen: ['Steve'],
  Andrew: ['Andy', 'Drew'],
  Joshua: ['Josh'],
  Kenneth: ['Ken', 'Kenny'],
  Timothy: ['Tim', 'Timmy'],
  Ronald: ['Ron', 'Ronnie'],
  Edward: ['Ed', 'Eddie', 'Ted', 'Ned'],
  Jeffrey: ['Jeff'],
  Jacob: ['Jake'],
  Nicholas: ['Nick', 'Nicky'],
  Jonathan: ['Jon', 'Johnny'],
  Gregory: ['Greg'],
  Alexander: ['Alex', 'Sasha', 'Xander'],
  Benjamin: ['Ben', 'Benny'],
  Samuel: ['Sam', 'Sammy'],
  Patrick: ['Pat', 'Paddy'],
  Raymond: ['Ray'],
  Dennis: ['Denny'],
  Gerald: ['Jerry', 'Gerry'],
  Harold: ['Hal', 'Harry'],
  Lawrence: ['Larry'],
  Zachary: ['Zach', 'Zack'],
  Douglas: ['Doug'],
  Frederick: ['Fred', 'Freddie'],
  Theodore: ['Ted', 'Teddy', 'Theo'],
  Leonard: ['Len', 'Lenny', 'Leo'],
  Francis: ['Frank', 'Fran'],
  Eugene: ['Gene'],
  Vincent: ['Vince', 'Vinny'],
  Philip: ['Phil'],
  Russell: ['Russ'],
  Randolph: ['Randy'],
  Albert: ['Al', 'Bert'],
  Donald: ['Don', 'Donnie'],
  Herbert: ['Herb', 'Bert'],
  Clarence: ['Clare'],
  Reginald: ['Reggie'],
  Nathan: ['Nate'],
  Isaac: ['Ike'],
  Francisco: ['Paco', 'Pancho', 'Frank'],
  Jose: ['Pepe', 'Joe'],
  José: ['Pepe'],
  Alejandro: ['Alex', 'Alejo'],
  Eduardo: ['Eddie', 'Lalo'],
  Ricardo: ['Ricky'],
  Guillermo: ['Memo', 'Willy'],
  Jesús: ['Chuy'],
  Santiago: ['Santi'],
  Patricia: ['Pat', 'Patty', 'Trish', 'Tricia'],
  Jennifer: ['Jen', 'Jenny'],
  Jessica: ['Jess', 'Jessie'],
  Susan: ['Sue', 'Susie'],
  Deborah: ['Deb', 'Debbie'],
  Debra: ['Deb', 'Debbie'],
  Rebecca: ['Becky', 'Becca'],
  Samantha: ['Sam', 'Sammy'],
  Kimberly: ['Kim'],
  Christine: ['Chris', 'Chrissy'],
  Christina: ['Tina', 'Chris'],
  Pamela: ['Pam'],
  Cynthia: ['Cindy'],
  Sandra: ['Sandy'],
  Barbara: ['Barb', 'Babs'],
  Judith: ['Judy'],
  Virginia: ['Ginny', 'Ginger'],
  Frances: ['Fran', 'Frankie'],
  Theresa: ['Terri', 'Tess'],
  Teresa: ['Terri', 'Tere'],
  Victoria: ['Vicky', 'Tori'],
  Alexandra: ['Alex', 'Sasha', 'Lexi'],
  Abigail: ['Abby'],
  Jacqueline: ['Jackie'],
  Josephine: ['Josie', 'Jo'],
  Eleanor: ['Ellie', 'Nora'],
  Madeline: ['Maddie'],
  Gabriella: ['Gabby', 'Ella'],
  Isabella: ['Bella', 'Izzy'],
  Dorothy: ['Dot', 'Dottie'],
  Stephanie: ['Steph'],
  Melissa: ['Missy', 'Mel'],
  Amanda: ['Mandy'],
  Angela: ['Angie'],
  Danielle: ['Dani'],
  Natalie: ['Nat'],
  Beverly: ['Bev'],
  Gwendolyn: ['Gwen'],
  Bernadette: ['Bernie'],
  Henrietta: ['Etta', 'Hattie'],
  Mildred: ['Millie'],
  Gertrude: ['Gertie', 'Trudy'],
  Florence: ['Flo'],
  Lillian: ['Lily'],
  Guadalupe: ['Lupe'],
  Margarita: ['Rita'],
  Mariana: ['Mari'],
  Daniela: ['Dani'],
  Gabriela: ['Gaby'],
  Valentina: ['Vale'],
  Svetlana: ['Sveta'],
  Natasha: ['Tasha'],
  Dmitri: ['Dima'],
  Nikolai: ['Kolya'],
  Sergei: ['Seryozha'],
};
