"""Embedded name lists for the redactor and the generator (no downloads at run time).

``FIRST_NAMES`` is a broad, multicultural list of given names; the redactor treats "<given name> <Capitalised word>"
as a person. Given names that are also common words or product names in IT tickets (Max, Will, Ruby, Crystal,
Aurora, Cassandra, Julia, Ada, ...) are deliberately left out: they would redact "Crystal Reports" or
"Julia Computing". ``NOT_SURNAMES`` are capitalised words that follow a given name without making a person.
"""

from __future__ import annotations


def _words(text: str) -> list[str]:
    """Whitespace-separated words: long name lists stay readable as blocks of text."""
    return text.split()


_FIRST = """
Aaron Abdul Abigail Adam Adrian Aditya Ahmed Aisha Alan Albert Alejandro Alex Alexander Alexandra Alice Alicia
Alison Allison Amanda Amelia Amir Amit Amy Ana Ananya Andrea Andrew Andy Angela Anil Anita Anjali Ann Anna Anne
Annie Anthony Antonio Ariana Arjun Arnav Aarav Ashley Ava Ayesha Barbara Beatriz Ben Benjamin Beth Betty Bianca
Bobby Bogdan Brandon Brenda Brian Bridget Brittany Bruce Bruno Bryan Caleb Camila Carla Carlos Carmen Caroline
Carolyn Carter Catherine Cecilia Charles Charlotte Chen Chloe Chris Christian Christina Christine Christopher
Cindy Claire Claudia Colin Connor Craig Cristina Cynthia Daniel Daniela Danielle Darius David Deborah Debra Deepak
Denise Dennis Diana Diego Dimitri Divya Dmitri Dominic Donald Donna Dorothy Douglas Dylan Eduardo Edward Elena
Eli Elias Elijah Elizabeth Ella Ellen Emily Emma Eric Erica Erin Ethan Eva Evan Evelyn Fatima Felipe Fernando
Fiona Gabriel Gabriela Gary George Gerald Gloria Gomez Gregory Gus Hana Hannah Harold Harper Harry Hassan Heather
Helen Henry Hiroshi Hugo Ian Ibrahim Igor Ines Irene Isaac Isabel Isabella Isaiah Ivan Jack Jacob Jacqueline
Jake James Jamie Jane Janet Janice Jason Javier Jayden Jean Jeffrey Jennifer Jeremy Jerry Jessica Jesus Jia Jin
Joan Joanna Joe Joel John Jonathan Jorge Jose Joseph Joshua Joyce Juan Judith Judy Julian Julie Justin Kai Kaitlyn
Karen Karim Kate Katherine Kathleen Kathryn Katie Kayla Keith Kelly Kenji Kenneth Kevin Khalid Kimberly Kofi Kumar
Kyle Lakshmi Laura Lauren Lawrence Leah Lei Leo Leon Leonardo Li Liam Lily Linda Lisa Logan Lorenzo Louis Lucas
Lucia Luis Luke Lydia Madison Manuel Marco Margaret Maria Marie Marilyn Mario Marta Martha Martin Mary Mason Mateo
Matthew Mei Megan Melissa Mia Michael Michelle Miguel Mohammed Mohamed Monica Muhammad Nadia Nancy Naomi Natalia
Natalie Nathan Neha Nicholas Nicole Nikhil Nina Noah Nora Olga Olivia Omar Oscar Pablo Pamela Patricia Patrick
Paul Paula Pedro Peter Philip Pooja Priya Rachel Rafael Rahul Raj Rajesh Ramon Raul Rebecca Ricardo Richard Riya
Robert Roberto Rohan Ronald Rosa Ryan Ryder Sadie Samantha Samuel Sandra Sara Sarah Scott Sean Sebastian Sergei
Sergio Shannon Sharon Shirley Simon Sofia Sophia Sophie Stephanie Stephen Steven Susan Svetlana Tanvir Tara Teresa
Thomas Timothy Tina Tomas Tyler Valentina Vanessa Veronica Vikram Vincent Virginia Wei Wendy William Xavier Yan
Yara Yasmin Yuki Yusuf Zachary Zainab Zara Zhang Zoe Aiden Akira Alain Alessandro Amara Ananth Arturo Astrid Bilal
Carmen Chiara Chidi Chinedu Dario Darnell Dong Emeka Emre Enrique Esther Farah Farid Francesca Giovanni Goran
Hamza Hector Ingrid Jamal Jana Jiho Jorge Kwame Lars Layla Lena Lukas Malik Mariana Marcus Mehmet Minh Nia Niamh
Nikolai Nils Olu Pavel Quentin Ravi Reza Rui Saanvi Salma Sanjay Seo Shreya Siddharth Sven Tariq Thabo Tomasz Umar
Vera Wanjiru Wojciech Yaw Yusra Zanele Zeynep Aditi Kenya Noelle Gwen Regina Tamara Travis Dustin Shawn Derek
Marcel Gordon Luca Mohan Anand Kavya Ishaan Vivaan Sai Advik Krishna Madhav Harsh Tanya Meera Rekha Sunita Suresh
Ramesh Ganesh Venkat Lalitha Arun Vijay Ajay Kiran Pradeep Prakash Naveen Gaurav Manish Rakesh Sachin Sunil Vinod
María José André René Jürgen Björn Søren Zoë Chloé Sébastien Joaquín Ramón Inés Lucía Sofía Jérôme Hélène Agnès
Oluwaseun Chiamaka Ngozi Adebayo Babajide Yetunde Abena Ama Akosua Kwabena Thandiwe Sipho Lerato Tendai Amani
"""

# Given names that are also IT/product or common English words: excluded so "Crystal Reports" survives.
AMBIGUOUS_FIRST_NAMES = frozenset(
    _words(
        """Ada April Art Aurora August Autumn Bill Brave Cassandra Chase Crystal Dash Dawn Drew Faith Frank Gene Glen
    Grant Guy Hope Hunter Iris Ivy Jade Jasper Joy Julia June Jordan Lincoln Mark Max May Miles Nova Pat Phoenix
    Ray Rich Rose Ruby Sage Sandy Skye Sterling Summer Victor Will Winter Jan Austin Dallas Sydney Paris Mercedes
    Harley Ford Alexa Siri Cortana Django Hugo Victoria Florence Georgia Carol Penny Sonny Terry Jenkins Travis
    Hudson Jasmine Kali Hana Kenya Regina Bruno Chad Israel India Madison Carter Harper Mason Logan Gomez
    """
    )
)

FIRST_NAMES = frozenset(_words(_FIRST)) - AMBIGUOUS_FIRST_NAMES

# Capitalised words that follow a given name in ticket text without making a person ("Anna Support" is unlikely,
# "Lucas Framework" possible): the redactor checks the word after a given name against this set.
NOT_SURNAMES = frozenset(
    _words(
        """Team Teams Group Support Server Servers Desktop Cloud Enterprise Security Manager Management Portal App
    Application Login Access Account Accounts Admin Administrator Service Services Desk Dashboard Report Reports
    Studio Suite System Systems Platform Network Networks Database Data Edition Version Update Upgrade Install
    Installation License Licence Request Requests Error Issue Issues Problem Tool Tools Center Centre Hub Lab Labs
    Office Online Mobile Web Connect Drive Mail Email Calendar Analytics Insight Insights Monitor Monitoring Api
    Client Agent Gateway Core Pro Plus Express Standard Premium Basic Module Project Projects Workspace Console
    The This That And Or For To In On At Of With From By Is Are Was Were Be Has Have Had Not No Yes Please Thanks
    Thank Hi Hello Dear Regards Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March
    April May June July August September October November December Inc Ltd Corp LLC Co Department Dept Unit
    Engine Framework Library Kit Studio Player Reader Writer Viewer Editor Builder Designer Helper Bot Assistant
    Sync Share Point Plan Planner Board Boards Chat Meet Meeting Meetings Call Calls Notes Note Docs Doc File Files
    Folder Folders Backup Recovery Storage Vault Key Keys Token Tokens Password Passwords User Users Member Members
    Technologies Technology Software Solutions Consulting Health Bank Financial Insurance Airlines Motors Media
    Is Isn Can Could Would Should Will Did Does Do Also Again Today Tomorrow Yesterday Here There Now Then
    """
    )
)

# Surnames for the generator only (the redactor never needs a surname list: it anchors on given names).
SURNAMES = tuple(
    _words(
        """Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson
    Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis
    Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera
    Campbell Mitchell Carter Roberts Patel Sharma Singh Kumar Gupta Iyer Reddy Chen Wang Liu Zhang Yang Huang Kim
    Park Choi Tanaka Suzuki Sato Okafor Mensah Okoye Adeyemi Kowalski Nowak Novak Horvat Ivanova Petrov Schmidt
    Muller Weber Fischer Becker Rossi Russo Ferrari Esposito Bianchi Dubois Moreau Laurent Martins Silva Santos
    Oliveira Costa Pereira Haddad Khalil Nasser Hussain Rahman Ahmed Khan Yilmaz Demir Kaya Larsen Hansen
    Johansson Andersson Nielsen Murphy Kelly Byrne Walsh O'Brien McCarthy MacDonald Fortner Abbott Peterson Morgan
    Stone Turner Fisher Howard Hamilton Reyes Morales Ortiz Gutierrez Chavez Ramos Ruiz Alvarez Mendoza Castillo
    """
    )
)
