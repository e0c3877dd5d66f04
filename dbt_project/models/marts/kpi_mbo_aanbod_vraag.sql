{#-
  MBO supply next to vacancy demand per regio_code (of the school), schooljaar (1 August - 31 July, text
  '2025/2026'), sector, crebo and niveau:
    sector                        of the qualification: seed crebo_sector by crebo first (one sector per crebo,
                                  whatever the school's own code), else the sector the school delivered, else overig
    aantal_inschrijvingen         enrolments whose startdatum lies in the school year
    aantal_diplomas               diplomas whose diplomadatum lies in the school year
    aantal_open_vacatures_sector  vacancies of that sector in the region (workplace gemeente) open during the school
                                  year: open in at least one of its months (int_vacatures_open_per_maand); repeated
                                  on every crebo row: do not sum it over crebo
-#}
with inschrijvingen as (
    select i.regio_code, {{ schooljaar('i.startdatum') }} as jaar,
           coalesce(cs.sector, i.sector, 'overig') as sector, i.crebo, i.niveau, count(*) as aantal
    from {{ ref('stg_mbo__inschrijvingen') }} as i
    left join {{ ref('crebo_sector') }} as cs on cs.crebo = i.crebo
    group by i.regio_code, {{ schooljaar('i.startdatum') }}, coalesce(cs.sector, i.sector, 'overig'), i.crebo, i.niveau
),

diplomas as (
    select d.regio_code, {{ schooljaar('d.diplomadatum') }} as jaar,
           coalesce(cs.sector, d.sector, 'overig') as sector, d.crebo, d.niveau, count(*) as aantal
    from {{ ref('stg_mbo__diplomas') }} as d
    left join {{ ref('crebo_sector') }} as cs on cs.crebo = d.crebo
    group by d.regio_code, {{ schooljaar('d.diplomadatum') }}, coalesce(cs.sector, d.sector, 'overig'), d.crebo,
             d.niveau
),

sleutels as (
    select regio_code, jaar, sector, crebo, niveau from inschrijvingen
    union
    select regio_code, jaar, sector, crebo, niveau from diplomas
),

{# The school-year view of the month rule: a vacancy is open during a school year when it is open in one of
    its months (int_vacatures_open_per_maand). #}

vacatures_per_jaar as (
    select distinct vacature_id, regio_code, coalesce(sector, 'overig') as sector, {{ schooljaar('maand') }} as jaar
    from {{ ref('int_vacatures_open_per_maand') }}
),

vraag as (
    select j.regio_code, j.jaar, j.sector, count(v.vacature_id) as aantal_open_vacatures
    from (select distinct regio_code, jaar, sector from sleutels) as j
    inner join vacatures_per_jaar as v
        on v.regio_code = j.regio_code and v.sector = j.sector and v.jaar = j.jaar
    group by j.regio_code, j.jaar, j.sector
)

select
    s.regio_code,
    cast(s.jaar as varchar) || '/' || cast(s.jaar + 1 as varchar) as schooljaar,
    s.sector,
    s.crebo,
    s.niveau,
    coalesce(i.aantal, 0) as aantal_inschrijvingen,
    coalesce(d.aantal, 0) as aantal_diplomas,
    coalesce(v.aantal_open_vacatures, 0) as aantal_open_vacatures_sector
from sleutels as s
left join inschrijvingen as i
    on i.regio_code = s.regio_code and i.jaar = s.jaar and i.sector = s.sector and i.crebo = s.crebo
    and i.niveau = s.niveau
left join diplomas as d
    on d.regio_code = s.regio_code and d.jaar = s.jaar and d.sector = s.sector and d.crebo = s.crebo
    and d.niveau = s.niveau
left join vraag as v on v.regio_code = s.regio_code and v.jaar = s.jaar and v.sector = s.sector
